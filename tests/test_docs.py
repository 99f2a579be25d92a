"""The documentation: every public name documented, the examples run, the build is clean.

* ``test_public_name_has_docstring`` / ``test_public_name_in_docs``: every
  public name (``fastopt.__all__`` and the ``__all__`` of the public
  submodules) has a docstring (data: a description in the docs) and an
  autodoc / py-domain directive in the sources under ``docs/`` (the
  optimizer pages are generated from the registry into a temporary folder
  for the check). Adding a public name without documenting it fails here.
* ``test_option_documented``: every ``minimize`` option (with and without
  data) is in the options tables of ``docs/api/minimize.rst``.
* ``test_optimizer_pages``: every registry optimizer has its hand-written
  update rule and torch / optax correspondence in ``docs/gen_optimizer_pages.py``.
* ``test_examples_run`` (slow): every ``.. code-block:: python`` of the guide
  pages runs, page by page in one namespace, in a subprocess (a crash in
  compiled code then fails the pages instead of the test session).
* ``test_sphinx_build`` (slow): ``sphinx-build -W`` (warnings are errors)
  into a temporary folder; skipped when Sphinx is not installed
  (``pip install ".[docs]"``).
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
if str(DOCS) not in sys.path:
    sys.path.insert(0, str(DOCS))

import fastopt  # noqa: E402

# Public modules and, where a module has no __all__, its public names.
PUBLIC_MODULES = {
    "fastopt": None,
    "fastopt.optimizers": None,
    "fastopt.methods": None,
    "fastopt.schedules": None,
    "fastopt.losses": None,
    "fastopt.problems": None,
    "fastopt.registry": ["REGISTRY", "METHODS", "OptimizerSpec", "Hyper", "get_spec"],
    "fastopt.plot": None,
    "fastopt.models": None,
    "fastopt.cli": ["main"],
}

# Pages written by hand (generated pages and build output are left out).
SKIP_DIRS = {"_build", "_generated", "optimizers"}


def _import(name):
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # an optional dependency of that module
        pytest.skip(f"{name} cannot be imported: {exc}")


def _public_names():
    out = []
    for modname, fallback in PUBLIC_MODULES.items():
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        names = getattr(mod, "__all__", None) or fallback or []
        out.extend((modname, name) for name in names)
    return out


PUBLIC = _public_names()


def _sources() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.rst")
                  if not SKIP_DIRS.intersection(p.relative_to(DOCS).parts[:-1]))


@pytest.fixture(scope="module")
def doc_texts(tmp_path_factory):
    """Text of every documentation source, the generated optimizer pages included."""
    import gen_optimizer_pages

    out = tmp_path_factory.mktemp("optimizer_pages")
    generated = gen_optimizer_pages.generate(out)
    return {str(p): p.read_text(encoding="utf-8") for p in _sources() + generated}


_DIRECTIVE = re.compile(
    r"^(?P<indent>\s*)\.\. (?:py:)?(?P<kind>auto)?(?P<what>module|currentmodule|class|function|"
    r"data|exception|method|attribute)::\s*(?P<target>\S+)\s*$")


def _targets(texts: dict) -> dict[str, list[tuple[str, str]]]:
    """Fully qualified name -> [(file, directive body)] of every documenting directive."""
    found: dict[str, list[tuple[str, str]]] = {}
    for path, text in texts.items():
        lines = text.splitlines()
        module = None
        for i, line in enumerate(lines):
            m = _DIRECTIVE.match(line)
            if not m:
                continue
            what, target = m.group("what"), m.group("target")
            if what in ("module", "currentmodule"):
                module = None if target == "None" else target
                if what == "module" or m.group("kind"):
                    found.setdefault(target, []).append((path, "module"))
                continue
            if m.group("indent"):  # a member inside a class directive
                continue
            name = target if target.startswith("fastopt.") or module is None else f"{module}.{target}"
            body = []
            for nxt in lines[i + 1:]:
                if nxt.strip() and not nxt.startswith((" ", "\t")):
                    break
                if nxt.strip() and not nxt.strip().startswith(":"):
                    body.append(nxt.strip())
            found.setdefault(name, []).append((path, " ".join(body)))
    return found


def _resolve(qualname: str):
    """The object a dotted name documents, or a sentinel."""
    parts = qualname.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return _MISSING
        return obj
    return _MISSING


_MISSING = object()


def _is_data(obj) -> bool:
    return not (inspect.ismodule(obj) or inspect.isclass(obj) or callable(obj))


def _has_doc_comment(modname: str, name: str) -> bool:
    """A ``#:`` comment (what autodoc shows for data) right above ``name = ...``."""
    src = inspect.getsource(importlib.import_module(modname)).splitlines()
    for i, line in enumerate(src):
        if re.match(rf"^{re.escape(name)}\s*(:[^=]+)?=", line):
            return i > 0 and src[i - 1].lstrip().startswith("#:")
    return False


def test_public_names_found():
    assert ("fastopt", "Adam") in PUBLIC
    assert ("fastopt", "minimize") in PUBLIC
    assert len(PUBLIC) > 60


@pytest.mark.parametrize("modname,name", PUBLIC, ids=[f"{m}.{n}" for m, n in PUBLIC])
def test_public_name_has_docstring(modname, name, doc_texts):
    obj = getattr(_import(modname), name)
    if _is_data(obj):
        # Data has no docstring of its own: it needs a description in the
        # docs (``.. data::`` with a body) or a ``#:`` comment for autodata.
        entries = _targets(doc_texts).get(f"{modname}.{name}", [])
        described = any(body for _, body in entries)
        assert described or _has_doc_comment(modname, name), (
            f"{modname}.{name} (data) has no description: add a '#:' comment above it or a "
            "'.. data::' entry with a body in docs/api/")
        return
    doc = inspect.getdoc(obj)
    assert doc and doc.strip(), f"{modname}.{name} has no docstring"


@pytest.mark.parametrize("modname,name", PUBLIC, ids=[f"{m}.{n}" for m, n in PUBLIC])
def test_public_name_in_docs(modname, name, doc_texts):
    obj = getattr(_import(modname), name)
    targets = _targets(doc_texts)
    qualname = f"{modname}.{name}"
    if qualname in targets:
        return
    if inspect.ismodule(obj) and obj.__name__ in targets:
        return
    # The same object documented under another public name (fastopt.SGD for
    # fastopt.optimizers.SGD): good enough.
    for target in targets:
        if target.startswith("fastopt") and _resolve(target) is obj and not _is_data(obj):
            return
    pytest.fail(f"{qualname} is public but appears in no autodoc/py directive under docs/ "
                "(add it to the right page of docs/api/)")


def test_every_documented_name_exists(doc_texts):
    """No directive in the docs names something fastopt does not have."""
    missing = [name for name in _targets(doc_texts)
               if name.startswith("fastopt") and _resolve(name) is _MISSING]
    assert not missing, f"documented but not found: {missing}"


def _option_keys():
    # importlib: ``fastopt.minimize`` the attribute is the function, not the module.
    loop = importlib.import_module("fastopt.minimize")._LOOP_DEFAULTS
    training = importlib.import_module("fastopt.training")._DEFAULTS
    return sorted(set(loop) | set(training) | {"tol", "lr"})


@pytest.mark.parametrize("key", _option_keys())
def test_option_documented(key):
    text = (DOCS / "api" / "minimize.rst").read_text(encoding="utf-8")
    assert f"``{key}``" in text, f"minimize option {key!r} is missing from docs/api/minimize.rst"


def test_environment_variables_documented():
    source = (ROOT / "fastopt" / "_config.py").read_text(encoding="utf-8")
    page = (DOCS / "performance.rst").read_text(encoding="utf-8")
    names = sorted(set(re.findall(r"\bFASTOPT_[A-Z_]+\b", source)))
    assert names, "no FASTOPT_* variable found in fastopt/_config.py"
    missing = [n for n in names if f"``{n}``" not in page]
    assert not missing, f"environment variables missing from docs/performance.rst: {missing}"


def test_optimizer_pages(tmp_path):
    import gen_optimizer_pages as gen

    from fastopt.registry import REGISTRY

    assert set(gen.PAGES) == set(REGISTRY), "docs/gen_optimizer_pages.py PAGES != the registry"
    for name, page in gen.PAGES.items():
        for key in ("rule", "torch", "optax", "references", "symbols"):
            assert page.get(key), f"PAGES[{name!r}] lacks {key!r}"
        assert set(page["symbols"]) <= {h.name for h in REGISTRY[name].hypers}, name
    paths = gen.generate(tmp_path)
    assert {p.stem for p in paths} == set(REGISTRY) | {"index"}
    for name, spec in REGISTRY.items():
        text = (tmp_path / f"{name}.rst").read_text(encoding="utf-8")
        assert f".. autoclass:: fastopt.{spec.class_name}" in text
        for h in spec.hypers:
            assert f"``{h.name}``" in text and repr(h.default) in text, (name, h.name)


def test_benchmark_table_conversion(tmp_path):
    import md_tables

    md = tmp_path / "t.md"
    rst = tmp_path / "t.rst"
    assert not md_tables.write_benchmark_table(md, rst)
    assert "benchmark" in rst.read_text()
    md.write_text("## W1\n\n| n | fastopt | `torch` |\n|---|---:|---|\n| 1e2 | 1 us | - |\n")
    assert md_tables.write_benchmark_table(md, rst)
    text = rst.read_text()
    assert ".. rubric:: W1" in text and ".. list-table::" in text and "``torch``" in text


# -- the examples -----------------------------------------------------------------------

_CODE = re.compile(r"^(\s*)\.\. code-block:: python\s*$")


def code_blocks(text: str) -> list[str]:
    """The ``.. code-block:: python`` blocks of a page, dedented."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = _CODE.match(lines[i])
        i += 1
        if not m:
            continue
        base = len(m.group(1))
        while i < len(lines) and (not lines[i].strip() or lines[i].strip().startswith(":")):
            i += 1
        body = []
        while i < len(lines) and (not lines[i].strip()
                                  or len(lines[i]) - len(lines[i].lstrip()) > base):
            body.append(lines[i])
            i += 1
        blocks.append(textwrap.dedent("\n".join(body)).strip("\n") + "\n")
    return blocks


EXAMPLE_PAGES = [p for p in _sources() if code_blocks(p.read_text(encoding="utf-8"))]

RUNNER = r"""
import contextlib, io, json, sys, time, traceback
pages = json.loads(sys.argv[1])
out = sys.argv[2]
results = {}
for page, blocks in pages.items():
    namespace = {"__name__": "__docs_example__"}
    start = time.perf_counter()
    result = {"ok": True, "skipped": []}
    for k, code in enumerate(blocks):
        if "sklearn" in code:
            try:
                import sklearn  # noqa: F401
            except ImportError:
                result["skipped"].append(k)
                continue
        buffer = io.StringIO()
        try:
            with contextlib.redirect_stdout(buffer):
                exec(compile(code, f"{page} (block {k + 1})", "exec"), namespace)
        except BaseException:
            result = {"ok": False, "block": k + 1, "code": code,
                      "error": traceback.format_exc(), "output": buffer.getvalue()[-2000:]}
            break
    result["seconds"] = time.perf_counter() - start
    results[page] = result
    with open(out, "w") as f:
        json.dump(results, f)
"""


@pytest.fixture(scope="module")
def example_results(tmp_path_factory):
    pages = {str(p.relative_to(DOCS)): code_blocks(p.read_text(encoding="utf-8"))
             for p in EXAMPLE_PAGES}
    out = tmp_path_factory.mktemp("examples") / "results.json"
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(pages), str(out)],
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=900)
    results = json.loads(out.read_text()) if out.exists() else {}
    return results, proc


@pytest.mark.slow
@pytest.mark.parametrize("page", [str(p.relative_to(DOCS)) for p in EXAMPLE_PAGES])
def test_examples_run(page, example_results):
    results, proc = example_results
    if page not in results:
        pytest.fail(f"the example runner stopped before {page} (exit status "
                    f"{proc.returncode}):\n{proc.stderr[-3000:]}")
    result = results[page]
    if not result["ok"]:
        pytest.fail(f"docs/{page}, python block {result['block']} failed:\n{result['code']}\n"
                    f"{result['error']}\noutput:\n{result['output']}")
    if result["skipped"]:
        pytest.skip(f"blocks {result['skipped']} need scikit-learn")


# -- the build --------------------------------------------------------------------------

@pytest.mark.slow
def test_sphinx_build(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("matplotlib")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
           "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")]
    proc = subprocess.run(cmd, cwd=str(ROOT), capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, MPLBACKEND="Agg"))
    assert proc.returncode == 0, f"sphinx-build -W failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    html = tmp_path / "html"
    for page in ("index", "getting_started", "benchmarks", "performance", "api/index",
                 "optimizers/index", "optimizers/adam", "guide/regularization"):
        assert (html / f"{page}.html").is_file(), page
    images = {p.name for p in (html / "_images").glob("*.png")}
    assert {"race_rosenbrock.png", "train_validation.png"} <= images, images
