"""Region-prefixed ANNEX_DEFAULT_* lines in the user's HTCondor config, as the classic
setup wrote them (`us_east_1.ANNEX_DEFAULT_S3_BUCKET = ...`).

Rewriting is idempotent: lines this tool wrote for the same region and names are
replaced, everything else in the file is kept as it was. Setup writes its block, and
`annex image build` its own (the region's default worker image).

Reading a region's value (`configured_value`) takes what HTCondor's configuration sets,
region-prefixed first, and what this tool recorded in the user config file, which
HTCondor itself does not read for root. HTCondor's built-in defaults do not count: its
parameter table still names region images and an instance type of years ago.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import htcondor2

from condor_annex.settings import param


def region_prefix(region: str) -> str:
    return region.replace("-", "_")


def default_user_config() -> Path:
    """The per-user HTCondor config file the classic tool wrote to."""
    return Path.home() / ".condor" / "user_config"


def setup_header(region: str) -> str:
    return f"# condor-annex setup for {region}"


def write_region_settings(
    path: Path, region: str, values: dict[str, str], header: str | None = None
) -> None:
    """Replace this tool's lines for these names (and its block's header) in `path`."""
    prefix = region_prefix(region)
    header = header or setup_header(region)
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


def read_region_settings(path: Path, region: str) -> dict[str, str]:
    """The region-prefixed `NAME = value` lines of a config file (the last one wins)."""
    prefix = re.escape(region_prefix(region))
    line = re.compile(rf"^\s*{prefix}\.([A-Za-z0-9_]+)\s*=\s*(.*?)\s*$")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return {}
    found = {}
    for match in map(line.match, text.splitlines()):
        if match and match.group(2):
            found[match.group(1).upper()] = match.group(2)
    return found


def configured_value(name: str, region: str | None = None) -> str | None:
    """`name` for the region: HTCondor config's region-prefixed value, then the one this
    tool recorded in the user config file, then HTCondor config's plain value. Only
    values set somewhere count, never HTCondor's built-in defaults."""
    set_keys = {key.lower() for key in htcondor2.param.keys()}  # noqa: SIM118 - a binding

    def configured(key: str) -> str | None:
        return param(key) if key.lower() in set_keys else None

    if region:
        value = configured(f"{region_prefix(region)}.{name}")
        value = value or read_region_settings(default_user_config(), region).get(name.upper())
        if value:
            return value
    return configured(name)
