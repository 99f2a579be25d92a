"""Shared pytest configuration."""

import os

from hypothesis import settings

# CI runs the property tests on a fixed set of examples (hypothesis' derandomize),
# so that its verdict repeats; local runs keep searching new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def refcount_updates(dispatcher) -> dict:
    """{function: number of NRT_incref/NRT_decref calls} in the LLVM IR of a
    compiled dispatcher's first signature, its Python wrapper left out."""
    import re

    ir = dispatcher.inspect_llvm(dispatcher.signatures[0])
    found = {}
    for m in re.finditer(r"define [^\n]*@(\S+?)\(", ir):
        if "cpython" in m.group(1) or "cfunc" in m.group(1):
            continue
        body = ir[m.start():ir.find("\n}\n", m.start())]
        n = len(re.findall(r"call void @NRT_(?:incref|decref)", body))
        if n:
            found[m.group(1)] = n
    return found
