"""Living documentation: one behave run, told requirement by requirement.

Runs behave on features/ with its JSON formatter (and the progress formatter on
the terminal), then writes a Markdown report: under each requirement
REQ-RL-001..006, each spec scenario SCN-1..5 and each extension tag, the
scenarios tagged with it and whether each passed, failed or was not run, and
for one not run, which tag left it out and why. The scenarios and their tags
are read by tools/traceability.py, so the report and the traceability check
count alike; behave's JSON gives only the outcome of each.

Usage: python tools/report.py [--output FILE] [--root DIR] [-- BEHAVE_OPTION ...]

Exit status: 0 when the report is written and every scenario run passed; 1 when
it is written and a scenario failed; 2 when behave could not run (it wrote no
results, or ran no scenario at all): then no report is written, and an older
one at FILE is removed so that it cannot be mistaken for this run's.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import re
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from behave.configuration import Configuration
from behave.parser import ParserError
from traceability import (
    KNOWN_GAP,
    REQUIREMENTS,
    SPEC_SCENARIOS,
    Run,
    Traced,
    read_scenarios,
)

ROOT: Final = Path(__file__).resolve().parents[1]
PASSED: Final = "passed"
FAILED: Final = "failed"
NOT_RUN: Final = "not run"
# behave's statuses that mean the scenario ran and did not pass.
_BROKEN: Final = {"failed", "error", "hook_error", "cleanup_error", "undefined"}
_TAG_ROW: Final = re.compile(r"^\|\s*`@([\w-]+)`\s*\|\s*(.+?)\s*\|\s*$")
_EXAMPLE: Final = re.compile(r"^(?P<name>.*?) -- @[\d.]+ ?(?P<examples>.*)$")


class CouldNotRun(Exception):
    """behave left no results to report on; the message says what was found."""


@dataclass(frozen=True)
class Outcome:
    """What behave's JSON says of one scenario it reached."""

    status: str  # behave's own status name: passed, failed, skipped, ...
    failure: str  # the step that broke and its error, "" unless it broke


@dataclass(frozen=True)
class Selection:
    """Which scenarios the run chose by tag, with behave's own tag logic."""

    expression: Any  # a cucumber tag expression, with .check(tags)
    text: str  # the expression as written, e.g. "not @known-gap"
    source: str  # where it came from: behave.ini or the run's --tags

    @classmethod
    def of(cls, root: Path, options: Sequence[str]) -> Selection:
        """The tags a behave run in ``root`` with ``options`` selects."""
        with contextlib.chdir(root):  # behave reads behave.ini from here
            config = Configuration(list(options))
        text = " and ".join(config.tags or [])
        by_default = config.tags == config.default_tags
        source = "behave.ini's default tags" if by_default else "this run's --tags"
        return cls(config.tag_expression, text, source)

    def left_out_by(self, tags: frozenset[str]) -> list[str] | None:
        """The tags that keep a scenario out of the run; None if it is selected."""
        if self.expression is None or self.expression.check(tags):
            return None
        return [tag for tag in sorted(tags) if self.expression.check(tags - {tag})]


@dataclass(frozen=True)
class Docs:
    """What docs/ says of tags and known gaps, in the project's own words."""

    meanings: Mapping[str, str]  # tag -> meaning, from docs/conformance.md
    limitations: str  # the text of docs/limitations.md

    @classmethod
    def read(cls, root: Path) -> Docs:
        """Read the tags table of conformance.md and all of limitations.md."""
        meanings: dict[str, str] = {}
        for line in _text(root / "docs" / "conformance.md").splitlines():
            if found := _TAG_ROW.match(line):
                meanings[found[1]] = found[2]
        return cls(meanings, _text(root / "docs" / "limitations.md"))

    def limitation(self, name: str) -> str | None:
        """The heading in limitations.md of the section that names a scenario."""
        heading = None
        for line in self.limitations.splitlines():
            if line.startswith("#"):
                heading = line.lstrip("#").strip()
            elif name in line:
                return heading or "docs/limitations.md"
        return None


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def run_behave(root: Path, results: Path, options: Sequence[str]) -> int:
    """Run behave in ``root``, its JSON to ``results``; return its exit status."""
    results.parent.mkdir(parents=True, exist_ok=True)
    results.unlink(missing_ok=True)
    command = [sys.executable, "-m", "behave", "--format", "json"]
    command += ["--outfile", str(results), "--format", "progress", *options]
    return subprocess.run(command, cwd=root, check=False).returncode


def read_outcomes(results: Path) -> dict[tuple[str, int], Outcome]:
    """Each scenario behave reached, by feature file name and line."""
    try:
        features = json.loads(results.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CouldNotRun(f"behave wrote no results to {results}") from None
    except ValueError as error:
        raise CouldNotRun(f"{results} is not behave's JSON: {error}") from None

    outcomes: dict[tuple[str, int], Outcome] = {}
    for feature in features:
        for element in feature.get("elements", []):
            if element.get("type") != "scenario":
                continue
            file, _, line = element["location"].rpartition(":")
            outcome = Outcome(_status(element), _failure(element))
            outcomes[Path(file).name, int(line)] = outcome
    if not any(o.status == PASSED or o.status in _BROKEN for o in outcomes.values()):
        raise CouldNotRun("behave ran no scenario")
    return outcomes


def _status(element: Mapping[str, Any]) -> str:
    """The scenario's status, or when behave left it out, what its steps say.

    behave's JSON formatter writes a scenario's status when the next element
    begins; if that is a rule's background, the status lands on the background
    and the scenario has none. Its steps still carry their own results.
    """
    if status := element.get("status"):
        return str(status)
    steps = [step.get("result", {}).get("status") for step in element["steps"]]
    if any(step in _BROKEN for step in steps):
        return FAILED
    if steps and all(step == PASSED for step in steps):
        return PASSED
    return "untested"


def _failure(element: Mapping[str, Any]) -> str:
    for step in element["steps"]:
        result = step.get("result", {})
        if result.get("status") in _BROKEN:
            error = result.get("error_message") or result["status"]
            if isinstance(error, list):  # some behave versions split the lines
                error = "\n".join(error)
            return f"{step['keyword']} {step['name']}\n{error}".strip()
    return "a hook failed" if element.get("status") in _BROKEN else ""


@dataclass(frozen=True)
class Row:
    """One line of the report: a scenario as it ran, and how it came out."""

    scenario: Traced
    run: Run
    result: str  # PASSED, FAILED or NOT_RUN
    detail: str  # why it was not run, or the failing step and error


# A section of the report: its heading and its rows.
Section = tuple[str, list[Row]]


class Report:
    """The rows of one run, and the Markdown that shows them by requirement."""

    def __init__(self, rows: Sequence[Row], docs: Docs, command: str) -> None:
        self.rows = rows
        self.docs = docs
        self.command = command

    @classmethod
    def build(
        cls,
        scenarios: Iterable[Traced],
        outcomes: Mapping[tuple[str, int], Outcome],
        selection: Selection,
        docs: Docs,
        command: str,
    ) -> Report:
        """Match each scenario of the features with its outcome in the run."""
        rows = []
        for scenario in scenarios:
            for run in scenario.runs:
                outcome = outcomes.get((Path(scenario.path).name, run.line))
                rows.append(_row(scenario, run, outcome, selection, docs))
        return cls(rows, docs, command)

    @property
    def failed(self) -> list[Row]:
        """The rows of scenarios that ran and did not pass."""
        return [row for row in self.rows if row.result == FAILED]

    def markdown(self, when: datetime) -> str:
        """The whole report: overview, then the three parts, then the failures."""
        parts = [
            ("Requirements", self._by_tag(REQUIREMENTS)),
            ("Specification scenarios", self._by_tag(SPEC_SCENARIOS)),
            ("Extensions and decisions", self._extensions()),
        ]
        lines = self._head(when, parts)
        for title, sections in parts:
            lines += [f"## {title}", ""]
            for heading, rows in sections:
                lines += self._section(heading, rows)
        lines += self._failures()
        return "\n".join(lines).rstrip() + "\n"

    def _by_tag(self, summaries: Mapping[str, str]) -> list[Section]:
        return [
            (f"{tag}: {summary}", [row for row in self.rows if tag in row.run.tags])
            for tag, summary in summaries.items()
        ]

    def _extensions(self) -> list[Section]:
        """A section per other tag; each row under its most particular tag."""
        traced = set(REQUIREMENTS) | set(SPEC_SCENARIOS) | {KNOWN_GAP}
        count = Counter(tag for row in self.rows for tag in row.run.tags - traced)
        order = [tag for tag in self.docs.meanings if tag in count]
        order += sorted(set(count) - set(order))
        home: dict[str, list[Row]] = {tag: [] for tag in order}
        for row in self.rows:
            if tags := row.run.tags - traced:
                tag = min(tags, key=lambda tag: (count[tag], order.index(tag)))
                home[tag].append(row)
        sections = []
        for tag, rows in home.items():
            heading = self._tag_heading(tag)
            shared = frozenset.intersection(*(row.run.tags - traced for row in rows))
            if others := sorted(shared - {tag}):  # such as @cli for @replay
                heading += " (with " + ", ".join(f"@{t}" for t in others) + ")"
            sections.append((heading, rows))
        untagged = [row for row in self.rows if not row.run.tags - {KNOWN_GAP}]
        if untagged:
            sections.append(("no tag: traced to nothing", untagged))
        return sections

    def _tag_heading(self, tag: str) -> str:
        meaning = self.docs.meanings.get(tag)
        return f"@{tag}: {meaning}" if meaning else f"@{tag}"

    def _head(
        self, when: datetime, parts: Sequence[tuple[str, list[Section]]]
    ) -> list[str]:
        tally = _tally(self.rows)
        lines = [
            "# Behaviour report",
            "",
            "What the limiter did in one run of its behave suite, requirement by",
            "requirement. Each scenario is one example of a rule, with concrete users,",
            "times and tokens; *passed* means the limiter answered exactly as the",
            "scenario says. How to read and rebuild this: docs/report.md.",
            "",
            f"- run: {when:%Y-%m-%d %H:%M} UTC, `{self.command}`",
            f"- result: {_scenarios(len(self.rows))}, {tally}",
        ]
        if self.failed:
            lines.append("- the failing steps and their errors: Failures, at the end")
        lines += ["", "| requirement, scenario or extension | scenarios |", "|---|---|"]
        for _, sections in parts:
            for heading, rows in sections:
                lines.append(f"| {_cell(heading)} | {_tally(rows)} |")
        return [*lines, ""]

    def _section(self, heading: str, rows: Sequence[Row]) -> list[str]:
        """A heading, then a table of rows per feature and rule, in file order."""
        count = f"{_scenarios(len(rows))}: {_tally(rows)}." if rows else "No scenario."
        lines = [f"### {heading}", "", count, ""]
        for path, in_feature in itertools.groupby(rows, key=_path):
            group = list(in_feature)
            feature = group[0].scenario
            lines += [f"**{feature.feature}** (`{path}`)", ""]
            if feature.description:
                lines += [*_quoted(feature.description), ""]
            for rule, in_rule in itertools.groupby(group, key=_rule):
                if rule:
                    lines += [f"Rule: *{rule}*", ""]
                lines += ["| result | scenario | where |", "|---|---|---|"]
                lines += [_table_row(row) for row in in_rule]
                lines.append("")
        return lines

    def _failures(self) -> list[str]:
        if not self.failed:
            return []
        lines = ["## Failures", ""]
        for row in self.failed:
            lines += [f"### {_name(row)}", "", f"`{_where(row)}`", "", "```"]
            lines += [row.detail or "(behave gave no message)", "```", ""]
        return lines


def _row(
    scenario: Traced,
    run: Run,
    outcome: Outcome | None,
    selection: Selection,
    docs: Docs,
) -> Row:
    """Say how one scenario came out, and why when it did not run."""
    if outcome is not None and outcome.status == PASSED:
        return Row(scenario, run, PASSED, "")
    if outcome is not None and outcome.status in _BROKEN:
        return Row(scenario, run, FAILED, outcome.failure)

    left_out_by = selection.left_out_by(run.tags)
    if left_out_by is None:
        why = "skipped by the run" if outcome else "not selected by this run"
        return Row(scenario, run, NOT_RUN, why)
    why = f"left out by `{selection.text}` ({selection.source})"
    for tag in left_out_by:
        meaning = docs.meanings.get(tag, "")
        why += f"; @{tag}" + (f": {meaning}" if meaning else "")
    if left_out_by:
        section = docs.limitation(scenario.name)
        why += "; " + (
            f"why and workaround: docs/limitations.md, “{section}”"
            if section
            else "docs/limitations.md does not list it"
        )
    return Row(scenario, run, NOT_RUN, why)


def _tally(rows: Sequence[Row]) -> str:
    """How many passed, failed and were not run, or that there are none."""
    if not rows:
        return "no scenario covers it"
    count = Counter(row.result for row in rows)
    return ", ".join(f"{count[r]} {r}" for r in (PASSED, FAILED, NOT_RUN) if count[r])


def _scenarios(number: int) -> str:
    return f"{number} scenario" + ("" if number == 1 else "s")


def _table_row(row: Row) -> str:
    result = {PASSED: "passed", FAILED: "**FAILED**"}.get(row.result, "not run")
    if row.result == FAILED:
        result += " (see Failures)"
    elif row.result == NOT_RUN:
        result += f": {row.detail}"
    return f"| {_cell(result)} | {_cell(_name(row))} | `{_where(row)}` |"


def _name(row: Row) -> str:
    """The scenario's name; an outline's row with its values, and its examples."""
    name = row.run.name
    if found := _EXAMPLE.match(name):
        name = found["name"]
        if found["examples"].strip():
            name += f" ({found['examples'].strip()})"
    return name


def _path(row: Row) -> str:
    return row.scenario.path


def _rule(row: Row) -> str:
    return row.scenario.rule


def _quoted(text: str) -> list[str]:
    return textwrap.wrap(text, 78, initial_indent="> ", subsequent_indent="> ")


def _where(row: Row) -> str:
    return f"{row.scenario.path}:{row.run.line}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main(argv: Sequence[str]) -> int:
    """Run behave with the options after ``--`` and write the report."""
    parser = argparse.ArgumentParser(prog="report", description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "report.md")
    parser.add_argument("--root", type=Path, default=ROOT, help="the project to run")
    parser.add_argument("options", nargs="*", help="given to behave as they are")
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    output: Path = args.output.resolve()
    output.unlink(missing_ok=True)  # an older report must not pass for this run's

    try:
        report = _run(root, output.with_suffix(".json"), args.options)
    except CouldNotRun as error:
        print(f"report: {error}", file=sys.stderr)
        return 2

    output.write_text(report.markdown(datetime.now(UTC)), encoding="utf-8")
    failed = len(report.failed)
    print(f"report: {output}" + (f" ({failed} failed)" if failed else ""))
    return 1 if failed else 0


def _run(root: Path, results: Path, options: Sequence[str]) -> Report:
    """Run behave and match its outcomes with the scenarios of the features."""
    status = run_behave(root, results, options)
    try:
        outcomes = read_outcomes(results)
    except CouldNotRun as error:
        raise CouldNotRun(f"{error} (behave exit status {status})") from None

    try:
        with contextlib.chdir(root):  # paths in the report read from the root
            scenarios = read_scenarios(root / "features")
    except ParserError as error:
        raise CouldNotRun(str(error)) from None
    command = " ".join(["behave", *options])
    selection = Selection.of(root, options)
    return Report.build(scenarios, outcomes, selection, Docs.read(root), command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
