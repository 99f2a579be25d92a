"""Disk cache for the compiled minimize loops built around a user's objective.

The loop is a closure over the objective, so Numba would recompile it in every
process (~1 s) or, cached the usual way, miss anyway: its cache key pickles the
closure's dispatchers, and a dispatcher pickles with a per-process id.
``cache_loop`` gives the loop Numba's own disk cache with a key built from
what the compiled code depends on: the objective's code and source file (the
same things Numba's cache of the objective itself checks), fastopt's sources
and settings, and the kernel.

It is used only where that is sound: the objective (and ``jac``) are Numba
functions compiled with ``cache=True`` (their owner accepted Numba's caching
rules) and without ``parallel=True``; and nothing that calls a parallel
function is saved, because such a library crashes when loaded back (numba
issue #8578). A loop whose parallel region is its own (a built-in loss
inlined into a training epoch) is saved like any cached parallel function.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from types import CodeType

from numba.core.caching import FunctionCache, IndexDataCacheFile
from numba.core.dispatcher import Dispatcher

from . import _config

_PACKAGE = Path(__file__).resolve().parent


def _file_stamp(path: str | Path) -> tuple:
    st = os.stat(path)
    return str(path), st.st_mtime_ns, st.st_size


_SOURCES: tuple | None = None


def _package_stamp() -> tuple:
    """(path, mtime, size) of every fastopt source file: the loop links their code."""
    global _SOURCES
    if _SOURCES is None:
        _SOURCES = tuple(_file_stamp(p) for p in sorted(_PACKAGE.rglob("*.py")))
    return _SOURCES


def cacheable(dispatcher) -> bool:
    """A Numba function with an on-disk cache and no parallel code of its own."""
    return (isinstance(getattr(dispatcher, "_cache", None), FunctionCache)
            and not dispatcher.targetoptions.get("parallel"))


def _closure_dispatchers(dispatcher) -> list:
    """The Numba functions in ``dispatcher``'s closure (the code it compiles in)."""
    cells = dispatcher.py_func.__closure__ or ()
    return [c.cell_contents for c in cells if isinstance(c.cell_contents, Dispatcher)]


def closure_cacheable(dispatcher) -> bool:
    """Every user function a fastopt closure compiles in (recursively) is ``cacheable``.

    Such a closure (``losses.per_example``'s twin) can then be keyed like a
    user's objective: by the code and source files of what it closes over.
    """
    for inner in _closure_dispatchers(dispatcher):
        module = inner.py_func.__module__ or ""
        own = module == "fastopt" or module.startswith("fastopt.")
        if not (closure_cacheable(inner) if own else cacheable(inner)):
            return False
    return True


def _stable(obj):
    """``obj`` with a repr that is the same in every process (no ids, no set order)."""
    if isinstance(obj, CodeType):
        return ("code", obj.co_code, _stable(obj.co_consts), obj.co_names)
    if isinstance(obj, (set, frozenset)):
        return ("set",) + tuple(sorted(repr(_stable(x)) for x in obj))
    if isinstance(obj, dict):
        return ("dict",) + tuple(sorted((repr(k), repr(_stable(v))) for k, v in obj.items()))
    if isinstance(obj, (tuple, list)):
        return tuple(_stable(x) for x in obj)
    return obj


def _cell_value(value):
    """A closure variable as the key holds it: a Numba function by its fingerprint,
    anything else by the hash of its pickle (as Numba's own cache keys a closure)."""
    if isinstance(value, Dispatcher):
        return _fingerprint(value)
    return ("value", hashlib.sha256(pickle.dumps(value)).hexdigest())


def _fingerprint(dispatcher) -> tuple:
    """What Numba's cache of ``dispatcher`` checks (its source file, and the values of
    its closure variables, Numba functions among them by their own fingerprints),
    plus its code and options."""
    py_func = dispatcher.py_func
    code = py_func.__code__
    return (py_func.__module__, py_func.__qualname__, _file_stamp(code.co_filename),
            _stable(code), _stable(dispatcher.targetoptions),
            tuple(_cell_value(c.cell_contents) for c in py_func.__closure__ or ()))


def loop_key(fun, jac, mode: str, kernel=None) -> str:
    """A hex digest naming the compiled loop of (fun, jac, mode, kernel)."""
    kernel_name = (kernel.py_func.__module__, kernel.py_func.__qualname__) if kernel else None
    parts = (_fingerprint(fun), _fingerprint(jac) if jac is not None else None, mode,
             kernel_name, _package_stamp(),
             _stable(_config.FASTMATH), _stable(_config.KERNEL_FASTMATH), _config.PARALLEL_MIN,
             _config.PARALLEL_MIN_F64, _config.PRANGE_MIN)
    return hashlib.sha256(repr(parts).encode()).hexdigest()


class _KeyedCache(FunctionCache):
    """Numba's FunctionCache, indexed by ``key`` instead of the closure's pickle."""

    def __init__(self, py_func, key: str, own_parfors: bool = False):
        super().__init__(py_func)
        self._key = key
        self._own_parfors = own_parfors
        # One index file per key, so that loops for different objectives do
        # not rewrite one shared index.
        self._cache_file = IndexDataCacheFile(
            cache_path=self._cache_path, filename_base=f"{self._impl.filename_base}-{key[:20]}",
            source_stamp=self._impl.locator.get_source_stamp())

    def _index_key(self, sig, codegen):
        return sig, codegen.magic_tuple(), self._key

    def _save_overload(self, sig, data):
        if not self._own_parfors and "parfor_gufunc" in data.library.get_llvm_str():
            return  # numba issue #8578: would crash when loaded
        super()._save_overload(sig, data)


def cache_loop(loop, fun, jac, mode: str, kernel=None, own_parfors: bool = False):
    """Give ``loop`` (a fresh ``njit`` of a closure over fun/jac) the disk cache of its key.

    Returns ``loop``. It stays uncached when the objective's source cannot
    be stamped (a notebook cell, a deleted file) or Numba's cache cannot be
    set up (no writable cache directory, cache internals that differ).

    ``own_parfors``: the loop's parallel regions are its own (a loss inlined
    into it, nothing parallel called): saved like any cached ``parallel=True``
    function. Otherwise a loop with a parallel region is not saved.
    """
    if not _config.CACHE:
        return loop
    try:
        key = loop_key(fun, jac, mode, kernel)
        loop._cache = _KeyedCache(loop.py_func, key, own_parfors)
    except Exception:  # noqa: BLE001 - caching is an optimization, never a failure
        return loop
    _name_apart(loop, "_" + key[:16])
    return loop


def _name_apart(dispatcher, suffix: str) -> None:
    """Append ``suffix`` to the names of ``dispatcher`` and of the fastopt closures it calls.

    Numba names a compiled function by its qualified name, argument types and
    a counter of the compiling process. Two loops cached by different
    processes (the epochs of two losses, say) can then share symbol names,
    and when one process loads both, the second calls the first's code (its
    result was the other loss's). The key's digits keep them apart. Inlined
    closures leave no symbol, and functions defined at module level have
    one name for one code.
    """
    stack = [dispatcher]
    while stack:
        d = stack.pop()
        f = d.py_func
        if ("<locals>" in f.__qualname__ and not f.__qualname__.endswith(suffix)
                and d.targetoptions.get("inline", "never") != "always"):
            f.__qualname__ += suffix
        # not into a closure with a cache of its own (a per_example twin): it was
        # named apart by its own key, and renaming it again would change the
        # keys that fingerprint it, in the order loops happen to be built
        stack.extend(inner for inner in _closure_dispatchers(d)
                     if (inner.py_func.__module__ or "").startswith("fastopt")
                     and not isinstance(getattr(inner, "_cache", None), _KeyedCache))


def has_entries(loop) -> bool:
    """Whether ``loop`` (given a cache by ``cache_loop``) has fresh compiled code on disk.

    Reads the loop's index file only: entries written by this numba version for
    the current source stamp of the loop's own file. Anything unexpected is a no.
    """
    cache = getattr(loop, "_cache", None)
    if not isinstance(cache, _KeyedCache):
        return False
    try:
        return bool(cache._cache_file._load_index())
    except Exception:  # noqa: BLE001 - a damaged or foreign index: compile instead
        return False
