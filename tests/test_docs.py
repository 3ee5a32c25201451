"""The documentation stays true to the code: generated pages are current, every link resolves, the README stays
short, and every ``dopwf`` command and option is documented. No MD: the slowest step builds one host cell."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REGENERATE = "run `.venv/bin/python tools/make_docs.py` and commit the pages it writes"
README_MAX_LINES = 250


def _make_docs():
    spec = importlib.util.spec_from_file_location("make_docs", ROOT / "tools" / "make_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def make_docs():
    return _make_docs()


@pytest.fixture(scope="module")
def generated(make_docs):
    return make_docs.generated_pages()


@pytest.mark.parametrize("page", ["docs/study_file.md", "docs/cli.md", "docs/workflows_and_documents.md"])
def test_generated_page_is_current(generated, page):
    path = ROOT / page
    assert path.is_file(), f"{page} is missing: {REGENERATE}"
    assert path.read_text(encoding="utf-8") == generated[Path(page)], f"{page} is out of date: {REGENERATE}"


def test_every_study_key_has_a_description(make_docs):
    missing = make_docs.missing_descriptions()
    assert not missing, f"study-file keys without a Field(description=...): {missing}"


def test_study_file_page_shows_real_messages(generated):
    """The bad-value tables hold the validator's own words (a changed message changes the page)."""
    page = generated[Path("docs/study_file.md")]
    assert "`temperatures_K[1]: Input should be greater than 0`" in page
    assert "`ann.hiden_layers: unknown field`" in page
    assert "given twice" in page


# ------------------------------------------------------------------------------------------------ links

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
IMAGE_TAG = re.compile(r"<img\s[^>]*src=\"([^\"]+)\"", re.IGNORECASE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)


def _pages() -> list[Path]:
    pages = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "bench" / "results").glob("**/*.md"))]
    return [p for p in pages if p.is_file()]


def _targets(text: str) -> list[str]:
    text = FENCE.sub("", text)
    return LINK.findall(text) + IMAGE_TAG.findall(text)


def test_link_pattern_finds_links_and_images():
    text = "see [a](docs/x.md#part), ![fig](img/y.png \"t\") and <img src=\"z.png\">\n```\n[no](code.md)\n```\n"
    assert _targets(text) == ["docs/x.md#part", "img/y.png", "z.png"]


def test_docs_exist_and_readme_links_every_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert pages, "docs/ holds no pages"
    unlinked = [p for p in pages if f"docs/{p}" not in readme]
    assert not unlinked, f"README.md links no docs/{unlinked}"


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown page (lower case, punctuation dropped, spaces as hyphens)."""
    anchors, seen = set(), {}
    for line in FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
            anchors.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
            seen[slug] = seen.get(slug, 0) + 1
    return anchors


def test_anchor_rule_matches_github():
    page = ROOT / "docs" / "study_file.md"
    assert {"top-level", "validationthresholds", "trainingsimulated_cells"} <= _anchors(page)


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    broken = []
    for target in _targets(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # http(s), mailto, ...
        path, _, fragment = target.split("?", 1)[0].partition("#")
        linked = (page.parent / path) if path else page
        if not linked.exists():
            broken.append(target)
        elif fragment and linked.suffix == ".md" and fragment not in _anchors(linked):
            broken.append(target)  # a heading renamed or gone
    assert not broken, f"{page.relative_to(ROOT)}: links to missing files or headings {broken}"


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; at most {README_MAX_LINES}"


# ------------------------------------------------------------------------------------------------ CLI


def test_cli_page_names_every_command_and_option(make_docs):
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = []
    for words, _, parser in make_docs.subcommands(make_docs.build_parser()):
        command = "dopwf " + " ".join(words)
        if f"## {command}\n" not in page:
            missing.append(command)
        for action in make_docs.documented_options(parser):
            missing += [f"{command} {o}" for o in action.option_strings if f"`{o}" not in page and f", {o}" not in page]
    assert not missing, f"docs/cli.md does not document {missing}: {REGENERATE}"


def test_cli_walk_sees_nested_commands(make_docs):
    commands = {words for words, _, _ in make_docs.subcommands(make_docs.build_parser())}
    assert {("init",), ("run",), ("ann",), ("ann", "train"), ("ann", "validate")} <= commands
