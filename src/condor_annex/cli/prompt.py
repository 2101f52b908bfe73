"""The one confirmation prompt of both command lines."""

from __future__ import annotations

import sys
from collections.abc import Callable

from condor_annex.errors import UsageError

Confirm = Callable[[str], bool]


def confirm_or_refuse(
    yes: bool, flag: str = "--yes", question: str = "Is that OK? [y/N] "
) -> Confirm:
    """`yes` skips the question; without a terminal to ask on, refuse rather than guess.

    The summary being confirmed has been said already; only the question is asked here.
    """

    def confirm(_summary: str) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise UsageError(f"not confirmed; pass {flag} to go ahead without a prompt")
        print(question, end="", flush=True)
        return input().strip().lower() in ("y", "yes")

    return confirm
