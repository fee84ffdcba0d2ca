"""The ``gongzhi`` command (``main``): serve, migrate, seed-demo, tokens, tenants, ledgers, keys."""

from gongzhi.cli.main import main

__all__ = ["main"]
