"""Atomic operations on int64 array entries, spin-wait hints, a cycle counter and a
prefetch hint, for njit code.

Numba has no atomics of its own; these emit LLVM's (``cmpxchg``, atomic
load/store with acquire/release ordering, ``llvm.readcyclecounter``). They
are what ``_coop`` needs to share the chunks of a batch between a training
epoch's thread and helper threads without locks. ``prefetch_row`` is what
the losses' row loops use to stream ``X`` faster than the hardware's own
prefetchers do.
"""

from __future__ import annotations

import platform

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")
_POSIX = platform.system() != "Windows"


def _entry(context, builder, aryty, ary, idx):
    a = context.make_array(aryty)(context, builder, ary)
    return cgutils.get_item_pointer(context, builder, aryty, a, [idx])


def _int64_array(arr) -> bool:
    return isinstance(arr, types.Array) and arr.dtype == types.int64 and arr.ndim == 1


@intrinsic
def cas(typingctx, arr, idx, old, new):
    """arr[idx] = new if arr[idx] == old (atomically, acquire-release); whether it did."""
    if not _int64_array(arr):
        return None

    def codegen(context, builder, sig, args):
        ptr = _entry(context, builder, sig.args[0], args[0], args[1])
        old_v = context.cast(builder, args[2], sig.args[2], types.int64)
        new_v = context.cast(builder, args[3], sig.args[3], types.int64)
        res = builder.cmpxchg(ptr, old_v, new_v, "acq_rel", "acquire")
        return builder.extract_value(res, 1)

    return types.boolean(arr, types.intp, old, new), codegen


@intrinsic
def load_acquire(typingctx, arr, idx):
    """arr[idx], read atomically with acquire ordering."""
    if not _int64_array(arr):
        return None

    def codegen(context, builder, sig, args):
        ptr = _entry(context, builder, sig.args[0], args[0], args[1])
        return builder.load_atomic(ptr, "acquire", 8)

    return types.int64(arr, types.intp), codegen


@intrinsic
def store_release(typingctx, arr, idx, value):
    """arr[idx] = value, written atomically with release ordering."""
    if not _int64_array(arr):
        return None

    def codegen(context, builder, sig, args):
        ptr = _entry(context, builder, sig.args[0], args[0], args[1])
        builder.store_atomic(context.cast(builder, args[2], sig.args[2], types.int64), ptr,
                             "release", 8)
        return context.get_dummy_value()

    return types.void(arr, types.intp, value), codegen


@intrinsic
def spin_pause(typingctx):
    """The CPU's spin-wait hint (x86 ``pause``); nothing elsewhere."""

    def codegen(context, builder, sig, args):
        if _X86:
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                                "llvm.x86.sse2.pause")
            builder.call(fn, [])
        return context.get_dummy_value()

    return types.void(), codegen


@intrinsic
def yield_cpu(typingctx):
    """Give the CPU to another runnable thread (POSIX ``sched_yield``; a spin hint elsewhere).

    Called by name, resolved in the process's C library when the code is
    loaded: no address is baked in, so the caller stays disk-cacheable.
    """

    def codegen(context, builder, sig, args):
        if _POSIX:
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []),
                                                "sched_yield")
        else:
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                                "llvm.x86.sse2.pause" if _X86 else "llvm.donothing")
        builder.call(fn, [])
        return context.get_dummy_value()

    return types.void(), codegen


@intrinsic
def cycles(typingctx):
    """The CPU's cycle (time-stamp) counter: only differences on one thread mean anything."""

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(64), []),
                                            "llvm.readcyclecounter")
        return builder.call(fn, [])

    return types.int64(), codegen


@intrinsic
def _prefetch(typingctx, arr, i, j):
    """Ask for the cache line of arr[i, j] (a hint: no load, no fault, no bounds check)."""
    if not (isinstance(arr, types.Array) and arr.ndim == 2):
        return None

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        a = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, a, [args[1], args[2]],
                                       wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
            "llvm.prefetch.p0i8")
        # a read, locality 2 (into the outer caches, not L1: a row is read soon, once
        # or twice), data cache
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 2),
                          ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(arr, types.intp, types.intp), codegen


@njit(inline="always")
def prefetch_row(X, i):
    """Prefetch row ``i`` of the C-contiguous 2-D ``X`` (``i`` must be a valid row)."""
    step = max(1, 64 // X.itemsize)
    for j in range(0, X.shape[1], step):
        _prefetch(X, i, j)
