"""Shared pytest configuration."""

import os

from hypothesis import settings

# CI runs the property tests on a fixed set of examples (hypothesis' derandomize),
# so that its verdict repeats; local runs keep searching new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
