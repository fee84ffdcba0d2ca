"""What the tests share: the harness (database environment, API client, world of two tenants), the
world itself, per-domain helpers and the repository's paths. Test files import from here, never from
another test file or from conftest.py (which holds only fixtures and pytest hooks)."""
