"""Sphinx configuration of the fastopt documentation.

Build (warnings are errors; no network is used)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Before reading the sources, this file generates:

* ``docs/optimizers/*.rst``: one page per registry optimizer
  (``gen_optimizer_pages.py``);
* ``docs/_generated/figures/*.png``: the figures, drawn with ``fastopt.plot``
  (``make_figures.py``), when missing or older than the code that draws them;
* ``docs/_generated/benchmark_table.rst``: ``docs/_generated/benchmark_table.md``
  (written by the benchmark scripts) converted to reStructuredText, or a note
  saying how to produce it when it is absent.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # document this checkout, not an installed copy
sys.path.insert(0, str(HERE))

from sphinx.util import logging  # noqa: E402

import fastopt  # noqa: E402
import gen_optimizer_pages  # noqa: E402
import md_tables  # noqa: E402

logger = logging.getLogger("fastopt.docs")

# -- project -----------------------------------------------------------------------------

project = "fastopt"
author = "the fastopt developers"
copyright = "the fastopt developers, BSD-3-Clause"
version = release = fastopt.__version__

# -- generated sources -------------------------------------------------------------------

GENERATED = HERE / "_generated"
GENERATED.mkdir(exist_ok=True)

gen_optimizer_pages.generate(HERE / "optimizers")
md_tables.write_benchmark_table(GENERATED / "benchmark_table.md",
                                GENERATED / "benchmark_table.rst")


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _cli_help() -> None:
    """The ``--help`` texts of the ``fastopt`` command, for ``api/cli.rst``."""
    import argparse

    from fastopt import cli

    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"  # argparse wraps to the terminal: fix the width
    try:
        parser = cli.build_parser()
        texts = {"cli_help.txt": parser.format_help()}
        for action in parser._actions:  # argparse has no public way to reach the subparsers
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    texts[f"cli_{name}_help.txt"] = sub.format_help()
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    for name, text in texts.items():
        _write_if_changed(GENERATED / name, text)


_cli_help()


def _make_figures() -> None:
    import make_figures

    if os.environ.get("FASTOPT_DOCS_FIGURES", "1") == "0" and make_figures.all_present():
        return
    try:
        made = make_figures.make_if_stale()
    except Exception as exc:  # reported as a Sphinx warning: -W turns it into a failure
        logger.warning("docs/make_figures.py failed: %s: %s", type(exc).__name__, exc)
        return
    if made:
        logger.info("fastopt docs: drew %d figure(s)", len(made))


_make_figures()

# -- general -----------------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
]

templates_path: list[str] = []
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
default_role = "code"  # `x` reads as code, as ``x`` does
pygments_style = "sphinx"
nitpicky = False

# No network: intersphinx is deliberately not enabled.

# -- autodoc and numpydoc ----------------------------------------------------------------

autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc Parameters sections say it better
autodoc_preserve_defaults = True
autodoc_inherit_docstrings = True
autoclass_content = "class"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_use_plots = False

# -- HTML --------------------------------------------------------------------------------

try:
    import pydata_sphinx_theme  # noqa: F401

    html_theme = "pydata_sphinx_theme"
    html_theme_options = {
        "navigation_with_keys": False,
        "show_toc_level": 2,
        "secondary_sidebar_items": ["page-toc"],
        "footer_start": ["copyright"],
        "footer_end": ["sphinx-version"],
    }
except ImportError:  # a clean built-in theme
    html_theme = "alabaster"
    html_theme_options = {"description": "First-order optimization, compiled for the CPU"}

# Pages without sub-pages: no empty navigation column (pydata theme; harmless elsewhere).
html_sidebars = {page: [] for page in ("index", "getting_started", "performance", "benchmarks")}
html_title = f"fastopt {release}"
html_static_path = ["_static"]
html_css_files = ["fastopt.css"]
html_show_sourcelink = False
html_last_updated_fmt = None
