"""The classic command's two status views.

`-status -classad`: one ClassAd per annex in HTCondor's old (long) format, as
`condor_status -long` prints ads, blank-line separated, so `classad2.parseAds` (or any
ClassAd reader) reads them back.

`status [condor_status options]`: HTCondor's own condor_status, run through the pool's
tools, for the annex's instances in the pool (their slots carry AnnexName), then the
instances that are not in the pool in a table of their own, since they have no ads for
condor_status to show.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from condor_annex.errors import UsageError

if TYPE_CHECKING:
    from condor_annex.status import AnnexStatus

# AnnexStatus field -> ClassAd attribute (the name is AnnexName, as in slot ads).
RENAMED = {"name": "AnnexName"}


def _attribute(field: str) -> str:
    return RENAMED.get(field, "".join(part.title() for part in field.split("_")))


def status_ad(status: AnnexStatus) -> Any:
    import classad2

    values = {_attribute(k): v for k, v in status.to_json().items() if v is not None}
    ad = classad2.ClassAd(values)
    ad["MyType"] = "Annex"
    return ad


def status_classads(statuses: Sequence[AnnexStatus]) -> str:
    return "\n".join(status_ad(s).printOld() for s in statuses)


def missing_rows(annexes: Any, statuses: Sequence[AnnexStatus]) -> list[tuple[str, ...]]:
    """(instance, annex, state, address) of each live instance not in the pool."""
    rows = []
    for status in statuses:
        missing = set(status.not_in_pool)
        record = annexes.store.load_annex(status.name)
        for worker in record.workers:
            if worker.id in missing:
                rows.append((worker.id, status.name, str(worker.state), worker.address or "-"))
    return rows


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def condor_status_view(annexes: Any, name: str | None, options: Sequence[str]) -> int:
    """condor_status for the annex's slots (or every annex's), then the instances it
    cannot show. condor_status's own error is this command's one-line error."""
    statuses = annexes.status(name)  # refreshes what the provider and the pool say
    select = ["-annex", name] if name else ["-constraint", "IsAnnex =?= true"]
    argv = annexes.tool(["condor_status", *select, *options], cwd=Path("/"))
    sys.stdout.flush()
    proc = subprocess.run(argv, stdout=sys.stdout, stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        raise UsageError(f"condor_status failed: {lines[-1] if lines else proc.returncode}")
    rows = missing_rows(annexes, statuses)
    if rows:
        print("\nInstances not in the pool:")
        print(table([("INSTANCE", "ANNEX", "STATE", "ADDRESS"), *rows]))
    return 0
