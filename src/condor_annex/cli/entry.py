"""The console scripts. The command line is built when its module loads (the providers'
options become flags then), so a bad provider setting fails there: it gets the same one
line and exit code as any other error, never a traceback."""

from __future__ import annotations

import sys

from condor_annex.errors import AnnexError


def annex() -> None:
    try:
        from condor_annex.cli.main import main
    except AnnexError as err:
        from condor_annex.cli.runner import report

        sys.exit(report(err, "annex"))
    main()
