"""The README stays short and its pages are there: every relative link and picture in README.md and
docs/ points at a file that exists, the README is under 200 lines, and each page it hands over to
is present and not empty."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"

#: The pages the README hands the long material over to.
PAGES = ("command-line", "music", "export", "web-page", "model", "evaluation", "reliability", "scale-out",
         "benchmarks", "architecture")

#: `[text](target)` and `![alt](target)`, the text possibly over several lines, an optional "title" after the target.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", flags=re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")


def _markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def _targets(text: str) -> list[str]:
    """Every link and picture target outside code, as written."""
    return LINK.findall(CODE.sub("", FENCE.sub("", text)))


def _is_local(target: str) -> bool:
    return not re.match(r"(https?|mailto):", target, flags=re.I) and not target.startswith("#")


def test_the_link_finder_reads_links_and_pictures_and_skips_code():
    text = ("See [the\npage](docs/a.md#part) and ![a picture](b.png \"title\"), [site](https://x.org), "
            "[here](#top), `[not](code.md)` and 0.99 [0.97, 1.00] (a figure).\n```sh\n[no](fenced.md)\n```\n")
    assert _targets(text) == ["docs/a.md#part", "b.png", "https://x.org", "#top"]
    assert [t for t in _targets(text) if _is_local(t)] == ["docs/a.md#part", "b.png"]


def test_every_relative_link_in_the_readme_and_docs_exists():
    files = _markdown_files()
    assert len(files) > len(PAGES), "the docs pages are missing"
    broken = []
    for path in files:
        for target in _targets(path.read_text(encoding="utf-8")):
            if not _is_local(target):
                continue
            relative = unquote(target.split("#", 1)[0])
            if not (path.parent / relative).exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_readme_is_under_200_lines():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines < 200, f"README.md has {lines} lines; move the detail into docs/"


@pytest.mark.parametrize("page", PAGES)
def test_each_docs_page_exists_and_is_not_empty(page):
    path = DOCS / f"{page}.md"
    assert path.is_file(), f"docs/{page}.md is missing"
    assert path.read_text(encoding="utf-8").strip(), f"docs/{page}.md is empty"


def test_every_option_of_every_verb_is_in_the_command_line_page():
    """The README sends readers to docs/command-line.md for "every verb and option": an option added
    to a verb and not to that page fails here (any one of its spellings, `-o` or `--output`, will do)."""
    import argparse

    from bopbot.app.cli import VERBS, build_parser

    page = (DOCS / "command-line.md").read_text(encoding="utf-8")
    written = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", page))
    verbs = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert set(verbs) == set(VERBS)
    missing = [f"bopbot {name} {'/'.join(action.option_strings)}"
               for name, verb in verbs.items() for action in verb._actions
               if action.option_strings and action.dest != "help" and not written & set(action.option_strings)]
    assert not missing, "not in docs/command-line.md:\n" + "\n".join(missing)


def test_the_command_line_page_lists_the_files_a_folder_walk_picks_up():
    """`bopbot extract FOLDER` takes files by suffix and passes over the rest (a photo, a song, a text
    file) without a word: the page says which, from the list the walk uses."""
    from bopbot.ingest.extract import INPUT_SUFFIXES, VIDEO_SUFFIXES

    page = " ".join((DOCS / "command-line.md").read_text(encoding="utf-8").split())
    videos = " ".join(sorted(VIDEO_SUFFIXES))
    assert f"for videos by their suffix ({videos})" in page
    for suffix in INPUT_SUFFIXES - VIDEO_SUFFIXES:
        assert f"`{suffix}`" in page
    assert "are passed over without a word" in page
