"""``python -m fastopt`` and the ``fastopt`` console script; see :mod:`fastopt.cli`."""

from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fastopt`` script: returns the exit status."""
    from .cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
