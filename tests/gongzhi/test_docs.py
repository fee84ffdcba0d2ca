"""The README stays a front page and the docs stay inside the repository (issue #20): the README is
small and keeps the two commands; every link in README.md and docs/ points at a file of this
repository, never at another host."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.support.paths import ROOT

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]

# Inline links and images [text](target "title"), reference definitions [label]: target, autolinks <url>.
_INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'(][^)]*)?\)")
_REFDEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.M)
_AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>]*)>")
_BARE_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s)\]>`'\"]+")
_LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _prose(text: str) -> str:
    """The text a renderer turns into links: without fenced code blocks and inline code spans."""
    text = re.sub(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", "", text, flags=re.M | re.S)
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", text, flags=re.S)


def links(text: str) -> list[str]:
    prose = _prose(text)
    return _INLINE.findall(prose) + _REFDEF.findall(prose) + _AUTOLINK.findall(prose)


def _is_demo_server(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and parts.hostname in _LOCAL_HOSTS


def _name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def test_readme_is_a_front_page() -> None:
    assert README.stat().st_size <= 15_000, f"README.md is {README.stat().st_size} bytes"


def test_readme_keeps_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    for command in ("make run", "make test"):
        assert re.search(rf"^{command}\b", text, re.M), f"README.md lost `{command}`"


def test_the_docs_are_there() -> None:
    names = {_name(p) for p in PAGES}
    for page in ("docs/settings.md", "docs/request-pipeline.md", "docs/cli.md", "docs/domains.md",
                 "docs/api.md", "docs/portals.md"):
        assert page in names


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_relative_links_resolve(page: Path) -> None:
    broken: list[str] = []
    for target in links(page.read_text(encoding="utf-8")):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or not parts.path:
            continue  # another host (next test) or an anchor inside the page
        resolved = (page.parent / unquote(parts.path)).resolve()
        if not resolved.is_relative_to(ROOT) or not resolved.exists():
            broken.append(target)
    assert broken == [], f"{_name(page)}: links to no file of the repository: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_no_link_leaves_the_repository(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    outside = [t for t in links(text) if urlsplit(t).scheme or t.startswith("//")]
    outside += _BARE_URL.findall(_prose(text))  # renderers link bare URLs too
    outside = list(dict.fromkeys(t for t in outside if not _is_demo_server(t)))
    assert outside == [], f"{_name(page)}: links outside the repository: {outside}"


def test_the_link_finder_finds_links() -> None:
    """The checks above are only as good as the finder: it must see every kind of link, and none in code."""
    sample = ("see [a](docs/x.md) and ![img](../y.png \"t\") and [b][r] <https://example.org/z>\n"
              "[r]: https://example.com/ref\n"
              "and `[not](in-code.md)` and\n```\n[neither](in-block.md)\n```\n")
    assert links(sample) == ["docs/x.md", "../y.png", "https://example.com/ref", "https://example.org/z"]
    assert _BARE_URL.findall(_prose("go to https://example.net/p now, not `http://in.code`")) == [
        "https://example.net/p"]


def _first_block() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"^```sh\n(.*?)^```", text, re.M | re.S)
    assert block, "README.md has no sh block"
    # join continuation lines
    return block.group(1).replace("\\\n", " ").splitlines()


def test_readme_first_screen_spells_out_every_command() -> None:
    """issue #25: clone to a first answer — every variable the block uses is set in it first (the token)."""
    lines = _first_block()
    assert lines[0].startswith("git clone")
    assert any(line.startswith("make run") for line in lines) and any(line.startswith("make test") for line in lines)
    assigned: set[str] = set()
    for line in lines:
        code = line.split("#", 1)[0] if not line.lstrip().startswith("curl") else line
        for used in re.findall(r"\$([A-Z_][A-Z0-9_]*)", code):
            assert used in assigned, f"README's first block uses ${used} before setting it: {line}"
        assigned.update(re.findall(r"^([A-Z_][A-Z0-9_]*)=", code.strip()))
    assert "TOKEN" in assigned


def test_readme_first_query_is_valid_against_the_schema() -> None:
    import json

    from graphql import parse, validate

    from gongzhi.modules import build_schema

    curl = next(line for line in _first_block() if line.lstrip().startswith("curl"))
    payload = json.loads(re.search(r"-d '(.*)'", curl).group(1))  # type: ignore[union-attr]
    schema = build_schema(introspection=True)._schema
    assert validate(schema, parse(payload["query"])) == []
