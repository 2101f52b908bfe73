"""`condor_annex`: the classic command line (single-dash flags, decimal hours).

The classic front end maps onto the same API as `annex`. It arrives with the AWS
provider; until then it says so and exits 2 without doing anything.
"""

from __future__ import annotations

import sys


def main() -> None:
    print(
        "condor_annex: error: the classic front end arrives with the AWS provider; "
        "use 'annex --help' for now",
        file=sys.stderr,
    )
    sys.exit(2)
