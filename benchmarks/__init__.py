"""fastopt's asv benchmark suite (see "asv" in benchmarks/README.md).

The suites are the ``bench_*`` modules: ``bench_step`` (W1), ``bench_epoch``
(W2), ``bench_minimize`` (W3), ``bench_coldstart`` (W4); ``bench_workloads``
holds the workloads and peers they share with ``compare.py``.

asv imports every module of this folder, the peer-comparison scripts
(``w1_step.py`` ...) and ``compare.py`` included. Two guards below keep
those scripts from changing the suite:

* which fastopt is measured is settled here, before any script can put the
  checkout at the front of ``sys.path``. In an environment asv built
  (virtualenv, ``asv run``/``asv continuous``): the fastopt asv installed
  for the commit, never the working tree. In an existing environment
  (``asv run --python=same``) or outside asv: the checkout holding this
  folder, whatever else is installed, as the ``w*_*.py`` scripts do.
* the scripts are not benchmarks: a function of theirs whose name asv would
  take for one (``time_interleaved`` ...) is marked ``skip_benchmark``, and a
  script that fails to import is replaced by an empty module (with a
  warning) rather than failing the whole suite's discovery.
"""

import importlib
import os
import re
import sys
import types
import warnings

_HERE = os.path.dirname(os.path.abspath(__file__))

_ROOT = os.path.dirname(_HERE)
if (os.environ.get("ASV_ENV_TYPE", "existing") == "existing"
        and os.path.isdir(os.path.join(_ROOT, "fastopt")) and _ROOT not in sys.path):
    sys.path.insert(0, _ROOT)
import fastopt  # noqa: E402,F401

_ASV_NAME = re.compile(r"^(time|timeraw|track|mem|peakmem)_|^(Time|Timeraw|Track|Mem|PeakMem)[A-Z_]")


def _shield_scripts():
    for entry in sorted(os.listdir(_HERE)):
        stem, ext = os.path.splitext(entry)
        if ext != ".py" or stem == "__init__" or stem.startswith("bench_"):
            continue
        name = f"{__name__}.{stem}"
        try:
            module = importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - any failure of a script must not stop asv
            warnings.warn(f"benchmarks/{entry} does not import ({e!r}); asv ignores it",
                          RuntimeWarning, stacklevel=2)
            sys.modules[name] = types.ModuleType(name, f"stand-in for benchmarks/{entry}")
            continue
        for value in vars(module).values():
            members = vars(value).items() if isinstance(value, type) else ()
            for attr, func in [(getattr(value, "__name__", ""), value), *members]:
                if isinstance(func, types.FunctionType) and _ASV_NAME.match(attr):
                    func.skip_benchmark = True


_shield_scripts()
