"""A faster interpreter exit once Numba has been used.

While CPython tears a process down it runs several full garbage
collections. After Numba has compiled or loaded code, a process tracks some
130,000 objects (Numba's typing and lowering registries) and those
collections take about 0.25 s, a quarter of a short script's wall time
(``benchmarks/w4_coldstart.py``). Freezing the collector's generations in an
atexit handler skips that work: objects are still freed by reference
counting as the modules are torn down, and only garbage held in reference
cycles is left for the operating system to reclaim (CPython does not promise
to run ``__del__`` at exit for such objects anyway). ``FASTOPT_FAST_EXIT=0``
turns it off.
"""

import atexit
import gc

from ._config import FAST_EXIT


def _freeze_gc() -> None:
    gc.freeze()


if FAST_EXIT:
    atexit.register(_freeze_gc)
