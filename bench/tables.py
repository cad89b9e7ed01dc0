"""The Markdown pieces every section of the report is made of."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence

__all__ = ["reached", "reflow", "table", "times"]

PROSE_WIDTH = 80


def table(
    header: Sequence[str], rows: Iterable[Sequence[str]], text_columns: int = 1
) -> str:
    """A Markdown table: ``text_columns`` columns of text at left, numbers at right."""
    lines = ["| " + " | ".join(header) + " |"]
    aligns = [":---"] * text_columns + ["---:"] * (len(header) - text_columns)
    lines.append("|" + "|".join(aligns) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def times(ratio: float) -> str:
    """A ratio as the tables show it: ``2.50x``."""
    return f"{ratio:.2f}x"


def reached(ok: bool | None) -> str:
    """A target's mark: reached, not reached, or not judged (``None``)."""
    if ok is None:
        return "not judged"
    return "**reached**" if ok else "**not reached**"


def reflow(text: str) -> str:
    """``text`` with its paragraphs and list items wrapped to ``PROSE_WIDTH``.

    Numbers put into a text make its lines uneven; this evens them out again.
    Headings and tables are left as they are.
    """
    blocks = []
    for block in text.split("\n\n"):
        if block.startswith(("#", "|")):
            blocks.append(block)
        elif block.startswith("- "):
            items = re.split(r"\n(?=- )", block)
            blocks.append("\n".join(_fill(item, "  ") for item in items))
        else:
            blocks.append(_fill(block, ""))
    return "\n\n".join(blocks)


def _fill(text: str, indent: str) -> str:
    return textwrap.fill(
        " ".join(text.split()),
        PROSE_WIDTH,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
