"""Region-prefixed ANNEX_DEFAULT_* lines in the user's HTCondor config, as the classic
setup wrote them (`us_east_1.ANNEX_DEFAULT_S3_BUCKET = ...`).

Rewriting is idempotent: lines this tool wrote for the same region and names are
replaced, everything else in the file is kept as it was.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


def region_prefix(region: str) -> str:
    return region.replace("-", "_")


def default_user_config() -> Path:
    """The per-user HTCondor config file the classic tool wrote to."""
    return Path.home() / ".condor" / "user_config"


def write_region_settings(path: Path, region: str, values: dict[str, str]) -> None:
    prefix = region_prefix(region)
    header = f"# condor-annex setup for {region}"
    ours = re.compile(
        rf"^\s*{re.escape(prefix)}\.({'|'.join(map(re.escape, values))})\s*=", re.IGNORECASE
    )
    old = path.read_text().splitlines() if path.exists() else []
    kept = [line for line in old if line.strip() != header and not ours.match(line)]
    while kept and not kept[-1].strip():
        kept.pop()
    block = [header, *(f"{prefix}.{name} = {value}" for name, value in values.items())]
    text = "\n".join([*kept, *([""] if kept else []), *block]) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
