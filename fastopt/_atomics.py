"""Atomic operations on int64 array entries, spin-wait hints and a cycle counter, for njit code.

Numba has no atomics of its own; these emit LLVM's (``cmpxchg``, atomic
load/store with acquire/release ordering, ``llvm.readcyclecounter``). They
are what ``_coop`` needs to share the chunks of a batch between a training
epoch's thread and helper threads without locks.
"""

from __future__ import annotations

import platform

from llvmlite import ir
from numba import types
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
