"""The docs stay true: every ``robustfx`` command and flag they write exists in the real parser,
every relative Markdown link (file and ``#anchor``) resolves, and the README stays short.

Commands are read from fenced code blocks (continued lines joined) and from inline code spans.
A command starts at ``robustfx`` (or ``.venv/bin/robustfx``, or ``scripts/run``, which passes its
arguments to ``robustfx run``); an inline span may also start at a command name (``kfp compile
--image``) or at a flag (``--max-robust-drop``), which must then belong to some command. Lines of
other tools (``docker``, ``pytest``, ``scripts/benchmark``) and pass-through options with
underscores (``--beam-arg=--direct_num_workers=2``) are not robustfx's and are left alone.
"""

import argparse
import functools
import re
from typing import Dict, FrozenSet, Iterator, List, Tuple

import pytest

from robustfx.cli.main import build_parser
from tests.helpers.paths import REPO

COMMAND_DOCS = sorted(
    [REPO / "README.md", REPO / "CONTRIBUTING.md", REPO / "benchmarks" / "README.md"]
    + list((REPO / "docs").glob("*.md"))
)
LINKED_DOCS = COMMAND_DOCS + [REPO / "CHANGELOG.md"]
README_MAX_LINES = 200
README_MAX_LINE = 160
DOC_MAX_LINE = 300
# Flags of other tools that the docs name in prose, by the tool they belong to.
OTHER_TOOLS_FLAGS = {"--strict-markers": "pytest"}

_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.M | re.S)
_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_FLAG = re.compile(r"--(?:\[no-\])?[a-z0-9][a-z0-9-]*")
_STARTS = {"robustfx": (), "scripts/run": ("run",)}
_ENDS = {"&&", "||", ";", "|", "&"}

Commands = Dict[Tuple[str, ...], FrozenSet[str]]


@functools.cache
def parser_commands() -> Commands:
    """Every command path of the real parser (``()``, ``('kfp', 'compile')``, ...): its flags."""
    found: Commands = {}

    def walk(parser: argparse.ArgumentParser, path: Tuple[str, ...]) -> None:
        found[path] = frozenset(o for a in parser._actions for o in a.option_strings)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, path + (name,))

    walk(build_parser(), ())
    return found


def _code(text: str) -> Tuple[List[str], List[str]]:
    """(logical lines of the fenced code blocks, inline code spans outside them)."""
    lines: List[str] = []
    for block in _FENCE.finditer(text):
        lines += re.sub(r"\\\n", " ", block.group(2)).splitlines()
    prose = _FENCE.sub("", text)
    return lines, [span.group(2).replace("\n", " ") for span in _SPAN.finditer(prose)]


def _flags(token: str) -> List[str]:
    """The robustfx flags a token names: ``--[no-]x`` is two, ``--x=V`` is ``--x``."""
    token = token.strip("[](),.:;'\"").split("=", 1)[0]
    match = _FLAG.fullmatch(token)
    if not match:
        return []  # a value, a single-dash flag, or a pass-through option with underscores
    if token.startswith("--[no-]"):
        return ["--" + token[7:], "--no-" + token[7:]]
    return [token]


def _start(token: str):
    """The command path a token starts (``robustfx`` -> ``()``), or None."""
    token = token.strip("\"'")
    if token.endswith("/robustfx"):
        token = "robustfx"
    return _STARTS.get(token)


def _invocation(tokens: List[str], path: Tuple[str, ...], commands: Commands) -> List[str]:
    """Problems of one command: an unknown subcommand, or flags its parser does not have."""
    for index, token in enumerate(tokens):
        if token in _ENDS or token.startswith("#"):
            tokens = tokens[:index]
            break
    rest = list(tokens)
    while rest and path + (rest[0],) in commands:
        path += (rest.pop(0),)
    has_subcommands = any(
        len(other) > len(path) and other[: len(path)] == path for other in commands
    )
    if rest and has_subcommands and not rest[0].startswith("-") and rest[0] != "...":
        return [f"robustfx {' '.join(path)}: no command {rest[0]!r}"]
    known = commands[path]
    shown = " ".join(("robustfx",) + path)
    return [
        f"{shown}: no flag {flag}" for token in rest for flag in _flags(token) if flag not in known
    ]


def command_problems(text: str) -> List[str]:
    """Every robustfx command and flag ``text`` writes that the parser does not know."""
    commands = parser_commands()
    every_flag = frozenset().union(*commands.values()) | set(OTHER_TOOLS_FLAGS)
    lines, spans = _code(text)
    problems: List[str] = []
    for source, is_span in [(line, False) for line in lines] + [(span, True) for span in spans]:
        tokens = source.split()
        start = next((i for i, token in enumerate(tokens) if _start(token) is not None), None)
        if start is not None:
            problems += _invocation(tokens[start + 1 :], _start(tokens[start]), commands)
        elif is_span and tokens and (tokens[0],) in commands:
            problems += _invocation(tokens, (), commands)
        elif is_span and tokens and tokens[0].startswith("--"):
            problems += [
                f"no command has the flag {flag}"
                for token in tokens
                for flag in _flags(token)
                if flag not in every_flag
            ]
    return problems


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    heading = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> FrozenSet[str]:
    """The anchors of a Markdown text's headings, numbered as GitHub numbers repeats."""
    seen: Dict[str, int] = {}
    found = set()
    for heading in _HEADING.finditer(_FENCE.sub("", text)):
        base = slug(heading.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def _links(text: str) -> Iterator[str]:
    prose = _SPAN.sub("", _FENCE.sub("", text))
    for link in _LINK.finditer(prose):
        target = link.group(1)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, mailto:, ...
            yield target


def link_problems(text: str, path) -> List[str]:
    """Every relative link of ``text`` (written in the file ``path``) that does not resolve."""
    problems = []
    for target in _links(text):
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve()
        if file_part and not resolved.exists():
            problems.append(f"{target}: no file {file_part}")
        elif anchor and (not file_part or resolved.suffix == ".md"):
            written = resolved.read_text(encoding="utf-8") if file_part else text
            if anchor not in anchors(written):
                problems.append(f"{target}: no heading #{anchor} in {file_part or path.name}")
    return problems


def _name(path) -> str:
    return str(path.relative_to(REPO))


@pytest.mark.parametrize("path", COMMAND_DOCS, ids=_name)
def test_every_command_and_flag_written_exists(path):
    assert command_problems(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", LINKED_DOCS, ids=_name)
def test_every_relative_link_resolves(path):
    assert link_problems(path.read_text(encoding="utf-8"), path) == []


def test_the_docs_are_read_and_their_commands_found():
    """The checks read real commands: the README's gate example and a prose flag are seen."""
    names = {_name(path) for path in COMMAND_DOCS}
    assert {"README.md", "CONTRIBUTING.md", "benchmarks/README.md", "docs/gate.md"} <= names
    lines, spans = _code((REPO / "README.md").read_text(encoding="utf-8"))
    assert any(line.startswith("robustfx gate --model") for line in lines)
    assert any(span.startswith("--threshold") for span in spans)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("`robustfx gate --made-up-flag 3`", "robustfx gate: no flag --made-up-flag"),
        ("```bash\nrobustfx run --epochs 1 \\\n  --no-such-flag\n```", "robustfx run: no flag"),
        ("```\n.venv/bin/robustfx kfp compile --cron x\n```", "robustfx kfp compile: no flag"),
        ("`scripts/run --time-limit 5`", "robustfx run: no flag --time-limit"),
        ("`kfp schedule --image I`", "robustfx kfp schedule: no flag --image"),
        ("`--[no-]adv-shuffle`", "no command has the flag --adv-shuffle"),
        ("`robustfx kfp launch --spec s.json`", "robustfx kfp: no command 'launch'"),
    ],
)
def test_a_made_up_command_or_flag_is_caught(text, problem):
    assert any(found.startswith(problem) for found in command_problems(text)), text


def test_real_commands_and_other_tools_pass():
    text = (
        "`robustfx kfp compile --image I --beam-option a=b`, `--[no-]adv-clip`,"
        " `--beam-arg=--x_y=1`, `docker run --net=host`\n```bash\nscripts/benchmark --digits 100\n"
        "robustfx gate --model m \\\n  --suite standard   # --not-checked in a comment\n```\n"
    )
    assert command_problems(text) == []


@pytest.mark.parametrize(
    "text, problem",
    [
        ("[a page](no_such_page.md)", "no_such_page.md: no file"),
        ("## Here\n[there](#there)", "#there: no heading #there"),
        ("[gate](gate.md#no-such-section)", "gate.md#no-such-section: no heading"),
    ],
)
def test_a_broken_link_is_caught(text, problem):
    assert any(p.startswith(problem) for p in link_problems(text, REPO / "docs" / "x.md"))


def test_anchors_follow_github():
    text = "## The compiled spec, executed here: `robustfx kfp run-local`\n## A\n## A\n"
    assert anchors(text) == {"the-compiled-spec-executed-here-robustfx-kfp-run-local", "a", "a-1"}
    links = text + "[x](#a-1) [y](gate.md#exit-codes-and-outputs)"
    assert link_problems(links, REPO / "docs" / "x.md") == []


def test_the_readme_is_short_and_no_doc_line_is_too_long():
    readme = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(readme) <= README_MAX_LINES
    assert [n for n, line in enumerate(readme, 1) if len(line) > README_MAX_LINE] == []
    long_lines = [
        f"{_name(path)}:{n}"
        for path in LINKED_DOCS
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if len(line) > DOC_MAX_LINE
    ]
    assert long_lines == []
