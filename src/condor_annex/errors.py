"""Exceptions that the CLI turns into one-line messages.

`UsageError` is for anything the user can fix (flags, names, config, missing runtime):
the CLI prints it on one line and exits 2, and the API raises it before creating anything.
"""


class AnnexError(Exception):
    """A failure of the tool or of the system under it (exit 1)."""


class UsageError(AnnexError):
    """Bad input or a missing prerequisite that the user must fix (exit 2)."""


class Cancelled(AnnexError):
    """The user said no at a confirmation prompt (exit 1; nothing was done)."""


def exit_code(error: BaseException) -> int:
    """The one mapping from errors to exit codes, for both command lines."""
    if isinstance(error, UsageError):
        return 2
    if isinstance(error, KeyboardInterrupt):
        return 130
    return 1
