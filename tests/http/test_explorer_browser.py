"""The demo explorer in a real browser (issues #12, #25): a demo server as a real process (migrate +
seed-demo on a temp SQLite file, GONGZHI_DEMO=1, ``gongzhi serve`` on a free port, this checkout's
code), then tests/browser/explorer.mjs drives the system's headless Chromium (playwright-core, never
a downloaded browser) through the page with an empty profile: it opens with no error (acting as the
first demo user, schema loaded); a grid leader picked in the page gets the docs at once; a grid
leader and a resident run the same example operation (the page must show each one's own answer, and
they differ); the demo partner system (token through POST /oauth/token) reads its shared data; every
example tab, with the actor the page offers for it, runs as it opens with no error; the chosen actor
survives a reload; the English switch changes the labels and survives a reload too. Screenshots are
kept in artifacts/explorer-*.png (gitignored); their paths are printed.

Skipped, with the reason, without node/npm or Chromium; GONGZHI_REQUIRE_BROWSER=1 (CI) makes that a
failure instead. `make explorer-browser` runs it alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from gongzhi.http.explorer_examples import example_tabs
from tests.support.paths import ROOT

BROWSER_DIR = ROOT / "tests" / "browser"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("GONGZHI_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("GONGZHI_REQUIRE_BROWSER") == "1"


def _missing() -> str | None:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _npm_ci() -> None:
    """Install playwright-core from the lock file unless the locked version is already there."""
    locked = json.loads((BROWSER_DIR / "package-lock.json").read_text())["packages"]["node_modules/playwright-core"]
    installed = BROWSER_DIR / "node_modules" / "playwright-core" / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == locked["version"]:
        return
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=BROWSER_DIR, check=True, timeout=300)


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}): {log.read_text()}")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not ready: {log.read_text()}")


def test_explorer_in_headless_chromium(tmp_path: Path) -> None:
    reason = _missing()
    if reason is not None:
        if REQUIRED:
            pytest.fail(f"GONGZHI_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(f"explorer browser test: {reason}")
    _npm_ci()
    for old in ARTIFACTS.glob("explorer-*.png"):  # only this run's screenshots count
        old.unlink()
    # This checkout's code, whichever checkout the virtualenv was installed from.
    gongzhi = [sys.executable, "-m", "gongzhi.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGZHI_")}
    env.update(GONGZHI_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", GONGZHI_DEMO="1",
               GONGZHI_UPLOAD_DIR=str(tmp_path / "uploads"), GONGZHI_AUTOCLOSE_INTERVAL="0")
    for cmd in ("migrate", "seed-demo"):
        done = subprocess.run([*gongzhi, cmd], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"gongzhi {cmd}: {done.stdout}{done.stderr}"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([*gongzhi, "serve", "--host", "127.0.0.1", "--port", str(port)],
                                  cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(base, server, log)
        run = subprocess.run(
            ["node", "explorer.mjs"], cwd=BROWSER_DIR, capture_output=True, text=True, timeout=420,
            env={**os.environ, "GONGZHI_EXPLORER_URL": base, "GONGZHI_ARTIFACTS": str(ARTIFACTS),
                 "GONGZHI_CHROMIUM": CHROMIUM})
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    print(run.stdout, run.stderr, sep="\n")
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\nserver log:\n{log.read_text()[-4000:]}"
    tabs = [t.name for t in example_tabs()]
    # 8 checks of the page, one per example tab.
    assert re.search(rf"^{8 + len(tabs)} passed, 0 failed$", run.stdout, re.MULTILINE), run.stdout
    for name in ("loaded", "docs", "grid-leader", "resident", "partner", "reloaded", "english",
                 *(f"tab-{t}" for t in tabs)):
        shot = ARTIFACTS / f"explorer-{name}.png"
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000, shot
