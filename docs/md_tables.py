"""Markdown (as the benchmark scripts write it) to reStructuredText, for the docs build.

Sphinx reads reStructuredText only (no Markdown parser is a docs dependency),
so ``conf.py`` converts ``docs/_generated/benchmark_table.md`` with this
module. It handles what those reports contain: headings (made rubrics, so
that they never clash with the including page's sections), paragraphs,
bullet lists, fenced code blocks, pipe tables and inline ``code``, bold and
links. Anything else passes through as text.
"""

from __future__ import annotations

import re
from pathlib import Path

PLACEHOLDER = """\
.. note::

   No benchmark table was found when these pages were built.
   ``docs/_generated/benchmark_table.md`` is written by the benchmark scripts
   in ``benchmarks/`` on the machine being measured, for example::

       python benchmarks/w1_step.py --quick --markdown docs/_generated/benchmark_table.md

   (``benchmarks/w2_epoch.py`` takes the same ``--markdown`` option.)
   Rebuild the documentation afterwards to show it here.
"""

_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _inline(text: str) -> str:
    """Inline Markdown to reStructuredText."""
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for k, part in enumerate(parts):
        if k % 2 == 1:  # a code span
            code = "``" + part[1:-1] + "``"
            # reStructuredText inline markup must not touch a word character.
            if out and out[-1] and re.match(r"\w", out[-1][-1]):
                code = "\\ " + code
            if k + 1 < len(parts) and parts[k + 1] and re.match(r"\w", parts[k + 1][0]):
                code += "\\ "
            out.append(code)
            continue
        part = _LINK.sub(lambda m: f"`{m.group(1)} <{m.group(2)}>`__", part)
        out.append(part.replace("\\|", "|"))
    return "".join(out)


def _cell(text: str) -> str:
    text = _inline(text.strip())
    if not text:
        return ".."  # an empty list-table cell must hold something; a comment shows nothing
    if re.match(r"^([*+\-](\s|$)|\d+[.)](\s|$)|#\.)", text):
        text = "\\" + text
    return text


def _split_row(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return re.split(r"(?<!\\)\|", line)


def _is_rule(line: str) -> bool:
    return bool(re.fullmatch(r"\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*", line))


def _table(lines: list[str]) -> list[str]:
    header = _split_row(lines[0])
    body = [_split_row(line) for line in lines[2:]]
    ncol = len(header)
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header] + body:
        row = (row + [""] * ncol)[:ncol]
        out.append(f"   * - {_cell(row[0])}")
        out.extend(f"     - {_cell(c)}" for c in row[1:])
    out.append("")
    return out


def convert(markdown: str) -> str:
    """reStructuredText for a Markdown report."""
    lines = markdown.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            out += ["::", ""]
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                out.append("   " + lines[i])
                i += 1
            out.append("")
            i += 1
            continue
        m = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        if m:
            out += [f".. rubric:: {_inline(m.group(2))}", ""]
            i += 1
            continue
        if stripped.startswith("|") and i + 1 < len(lines) and _is_rule(lines[i + 1]):
            block = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                block.append(lines[i])
                i += 1
            out += _table(block)
            continue
        if not stripped:
            out.append("")
            i += 1
            continue
        if re.match(r"^[*\-+]\s", stripped):
            out.append("* " + _inline(stripped[2:]))
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                out.append("  " + _inline(lines[i].strip()))
                i += 1
            if i < len(lines) and not re.match(r"^[*\-+]\s", lines[i].strip()):
                out.append("")  # a list ends with a blank line in reStructuredText
            continue
        out.append(_inline(stripped))
        i += 1
    text = "\n".join(out).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text) + "\n"


def write_benchmark_table(source: Path, target: Path) -> bool:
    """Write ``target`` (reST) from ``source`` (Markdown), or the placeholder if absent.

    Returns True when a real table was found. The target is only rewritten
    when its content changes.
    """
    source, target = Path(source), Path(target)
    found = source.is_file()
    text = convert(source.read_text(encoding="utf-8")) if found else PLACEHOLDER
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return found
