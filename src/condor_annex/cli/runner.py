"""Running a click group so that every user error is one line and exit code 2.

Click's own usage errors print three lines; ours print `annex: error: ...`. Tracebacks
never reach the user for input problems; tool failures (AnnexError) exit 1.
"""

from __future__ import annotations

import signal
import sys

import click

from condor_annex.errors import AnnexError, UsageError, exit_code


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # so `finally` blocks clean up, as on Ctrl-C


def run(group: click.Group, prog: str, argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        result = group.main(args=argv, prog_name=prog, standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.UsageError as err:
        where = f"{err.ctx.command_path}: " if err.ctx else f"{prog}: "
        click.echo(f"{where}error: {err.format_message()}", err=True)
        return 2
    except click.Abort:
        click.echo(f"{prog}: aborted", err=True)
        return 1
    except (AnnexError, KeyboardInterrupt) as err:
        return report(err, prog)
    return result if isinstance(result, int) else 0


def report(error: AnnexError | KeyboardInterrupt, prog: str) -> int:
    """One line on stderr for a failure, and its exit code (both command lines use this)."""
    if isinstance(error, UsageError):
        line = f"error: {error}"
    elif isinstance(error, KeyboardInterrupt):
        line = "interrupted"
    else:
        line = f"failed: {error}"
    click.echo(f"{prog}: {line}", err=True)
    return exit_code(error)


def exit_with(group: click.Group, prog: str) -> None:
    sys.exit(run(group, prog))
