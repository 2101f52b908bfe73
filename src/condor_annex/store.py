"""On-disk state under one home directory, shared by the CLI, the API and the reaper.

    HOME/pool/               the local seed pool (config, LOCAL_DIR, secrets)
    HOME/annexes/NAME.json   one record per annex
    HOME/annexes/.NAME.lock  serialises read-modify-write of that one record
    HOME/workers/ID/         one LOCAL_DIR per local worker
    HOME/providers/NAME/     each provider's own state

Records are JSON written atomically. Locks are per annex, and held only to read, change
and save a record, never across a call to a provider or the pool, so one annex's slow
launch never holds up another annex (or the local reaper).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from condor_annex.errors import UsageError
from condor_annex.model import AnnexRecord


class Store:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.pool_dir = home / "pool"
        self.annexes_dir = home / "annexes"
        self.workers_dir = home / "workers"

    def ensure_layout(self) -> None:
        """Create the directories; daemons run as `condor` and must traverse them (0755).

        Secrets live in 0700 directories below, never directly in these.
        """
        for path in (self.home, self.pool_dir, self.annexes_dir, self.workers_dir):
            path.mkdir(parents=True, exist_ok=True)
            os.chmod(path, 0o755)  # noqa: S103 - traversal only; secrets are in 0700 subdirs
        for parent in self.home.parents:
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                raise UsageError(
                    f"HTCondor's daemons cannot enter {parent} (no search permission for "
                    f"others); choose another CONDOR_ANNEX_HOME or run: chmod o+x {parent}"
                )

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """The lock of one annex's record (the annex need not exist yet)."""
        self.annexes_dir.mkdir(parents=True, exist_ok=True)
        with (self.annexes_dir / f".{name}.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def editing(self, name: str) -> Iterator[AnnexRecord]:
        """Load the record under its lock, let the caller change it, and save it."""
        with self.lock(name):
            record = self.load_annex(name)
            yield record
            self.save_annex(record)

    def _annex_path(self, name: str) -> Path:
        return self.annexes_dir / f"{name}.json"

    def has_annex(self, name: str) -> bool:
        return self._annex_path(name).is_file()

    def load_annex(self, name: str) -> AnnexRecord:
        path = self._annex_path(name)
        if not path.is_file():
            known = ", ".join(self.annex_names()) or "none"
            raise UsageError(f"no annex named {name!r} (known annexes: {known})")
        return AnnexRecord.from_json(json.loads(path.read_text()))

    def save_annex(self, record: AnnexRecord) -> None:
        self.annexes_dir.mkdir(parents=True, exist_ok=True)
        path = self._annex_path(record.name)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record.to_json(), indent=2))
        os.replace(tmp, path)

    def delete_annex(self, name: str) -> None:
        # The lock file stays: another process may be waiting on it.
        self._annex_path(name).unlink(missing_ok=True)

    def annex_names(self) -> list[str]:
        if not self.annexes_dir.is_dir():
            return []
        return sorted(p.stem for p in self.annexes_dir.glob("*.json"))

    def annexes(self) -> list[AnnexRecord]:
        return [self.load_annex(name) for name in self.annex_names()]
