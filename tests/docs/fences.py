"""Fenced blocks of a Markdown page and the shell commands of its ```bash blocks.

A fence's info string says what the block is: ``bash`` blocks are commands a reader runs; ``text``, ``console``,
``yaml`` and the rest are output examples, file layouts or config. A ``bash`` block is split into commands as the
shell reads it: a line ending in a backslash continues, and so does an open quote (``--set "init=[`` over several
lines); ``#`` starts a comment outside quotes.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

COMMAND_INFO = "bash"
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)(?P<info>[^`]*)$")


@dataclass(frozen=True)
class Block:
    """One fenced block: its info string, its lines (the fence's indentation removed) and where it opens."""

    doc: str
    line: int  # 1-based line of the opening fence
    info: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Command:
    """One shell command of a ``bash`` block, continuation lines joined, comments dropped."""

    doc: str
    line: int  # 1-based line where the command starts
    text: str

    def where(self) -> str:
        return f"{self.doc}:{self.line}"


def fenced_blocks(path: Path, name: str | None = None) -> list[Block]:
    """Every fenced block of the Markdown file ``path``, in order (``name``: how messages call the file)."""
    doc = name or path.name
    blocks: list[Block] = []
    open_fence: tuple[int, str, str, str] | None = None  # (line, indent, fence, info)
    body: list[str] = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        m = FENCE.match(raw)
        if open_fence is None:
            if m:
                open_fence, body = (number, m["indent"], m["fence"], m["info"].strip()), []
            continue
        line, indent, fence, info = open_fence
        if m and m["fence"] == fence and not m["info"].strip():
            blocks.append(Block(doc, line, info, tuple(body)))
            open_fence = None
        else:
            body.append(raw[len(indent) :] if raw.startswith(indent) else raw.lstrip())
    if open_fence is not None:
        raise ValueError(f"{doc}:{open_fence[0]}: a fence that is never closed")
    return blocks


def commands(block: Block) -> list[Command]:
    """The shell commands of a ``bash`` block, each as one string (comments removed, continuations joined)."""
    out: list[Command] = []
    pending: list[str] = []
    start = 0
    for offset, line in enumerate(block.lines, start=1):
        if not pending:
            start = block.line + offset
        pending.append(line)
        text = "\n".join(pending)
        if text.endswith("\\"):
            continue
        try:
            words = shlex.split(text, comments=True)
        except ValueError:  # an open quote: the command goes on on the next line
            continue
        pending = []
        if words:
            out.append(Command(block.doc, start, _strip_comment(text)))
    if pending:
        raise ValueError(f"{block.doc}:{start}: a command that never ends (open quote or trailing backslash)")
    return out


def _strip_comment(text: str) -> str:
    """``text`` without its trailing ``# comment`` (a ``#`` outside quotes), continuations joined into one line."""
    quote: str | None = None
    escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1].isspace()):
            text = text[:i]
            break
    return re.sub(r"\\\n\s*", "", text).strip()
