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
