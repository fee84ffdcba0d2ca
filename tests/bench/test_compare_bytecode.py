"""bench.compare times gongzhi's start-up the way the image starts: from byte-compiled sources of the same
packages the Dockerfile's build stage compiles (a fresh clone's first start would otherwise be its first
compilation, ≈ 300 modules)."""

from __future__ import annotations

import re
from pathlib import Path

from bench.compare import BYTECODE_PACKAGES

ROOT = Path(__file__).resolve().parents[2]


def test_bench_compiles_what_the_image_compiles() -> None:
    line = next(line for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
                if "compileall" in line)
    packages = re.split(r"\s+", line.split("checked-hash", 1)[1].strip())
    assert tuple(packages) == BYTECODE_PACKAGES
    for package in BYTECODE_PACKAGES:
        assert (ROOT / package).is_dir(), package
