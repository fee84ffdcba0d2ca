"""Fixtures of the case tests: ``capi``, the app with a clock the test sets (issue #22's stage tests)."""

from tests.support.case_steps import capi

__all__ = ["capi"]
