"""``gongzhi …`` as the operator runs it, in the test's process: the CLI's own ``main``, its settings from
the environment (the test database's app and owner URLs), its own event loop — so the caller runs it on a
thread (``asyncio.to_thread``). A process of its own spent ≈ 1.1 s of CPU importing the app on each
command (CI time, issue #21); tests/gongzhi/test_cli.py and tests/cases/test_photos_clean.py run the CLI
the same way. The answer has a finished process's shape: status, stdout, stderr."""

from __future__ import annotations

import contextlib
import io
import subprocess

import pytest

from gongzhi.cli.main import main
from tests.support.harness import DbEnv


def run_cli(db: DbEnv, *args: str) -> subprocess.CompletedProcess[str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GONGZHI_DATABASE_URL", db.app_url)
        mp.setenv("GONGZHI_MIGRATION_DATABASE_URL", db.owner_url)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as e:  # argparse refusing an argument: usage on stderr, status 2
                code = e.code if isinstance(e.code, int) else 1
    return subprocess.CompletedProcess(["gongzhi", *args], code, out.getvalue(), err.getvalue())
