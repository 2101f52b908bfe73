"""Exceptions that the CLI turns into one-line messages.

`UsageError` is for anything the user can fix (flags, names, config, missing runtime):
the CLI prints it on one line and exits 2, and the API raises it before creating anything.
"""


class AnnexError(Exception):
    """A failure of the tool or of the system under it (exit 1)."""


class UsageError(AnnexError):
    """Bad input or a missing prerequisite that the user must fix (exit 2)."""
