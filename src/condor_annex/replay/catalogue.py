"""The replay's catalogue of priced worker types: the shipped default (catalogue.json,
AWS-like shapes with dated on-demand prices) or a file of the same form."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from condor_annex.errors import UsageError
from condor_annex.planning import WorkerType


@dataclass(frozen=True)
class Catalogue:
    types: tuple[WorkerType, ...]
    source: str  # what the report says about where the types and prices come from


def _types(data: Any, where: str) -> Catalogue:
    try:
        disk_mb = int(data.get("disk_gib", 100) * 1024)
        types = tuple(
            WorkerType(
                name=str(t["name"]),
                cpus=int(t["cpus"]),
                memory_mb=int(float(t["memory_gib"]) * 1024),
                disk_mb=disk_mb,
                gpus=int(t.get("gpus", 0)),
                price_per_hour=float(t["price_per_hour"]),
                spot=bool(t.get("spot", False)),
            )
            for t in data["types"]
        )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise UsageError(
            f"{where}: each type needs name, cpus, memory_gib, price_per_hour ({err})"
        ) from None
    if not types or any(t.cpus < 1 or t.memory_mb < 1 or t.price_per_hour < 0 for t in types):
        raise UsageError(f"{where}: needs at least one type, each with cpus and memory > 0")
    source = f"{where}: {data.get('note', '')} (as of {data.get('as_of', 'unknown')})"
    return Catalogue(types, source)


def load_catalogue(path: Path | None = None) -> Catalogue:
    if path is None:
        text = (resources.files("condor_annex.replay") / "catalogue.json").read_text()
        return _types(json.loads(text), "default catalogue")
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"no catalogue file {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsageError(f"catalogue {path} is not readable JSON ({err})") from None
    return _types(data, str(path))
