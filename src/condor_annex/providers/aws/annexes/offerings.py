"""What EC2 offers an elastic annex: instance shapes (DescribeInstanceTypes), prices, and
the offerings to avoid for a while, kept in files of the provider's state directory so a
restarted controller knows them too.

- Shapes change rarely: cached for a day per region.
- On-demand prices: the Price List API (pricelist.py), cached for a day, else the shipped
  table (prices.py). Spot prices: the latest DescribeSpotPriceHistory answer per type, the
  highest over the zones (a fleet may land in any), asked afresh at each look.
- Avoided offerings (type, spot or on-demand): after an insufficient-capacity answer or a
  spot interruption, for AVOID_SECONDS (as ParallelCluster marks a resource down for ten
  minutes, and Karpenter an offering unavailable).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from condor_annex.errors import UsageError
from condor_annex.planning import WorkerType

SHAPES_TTL = 86400.0
PRICES_TTL = 86400.0
AVOID_SECONDS = 600.0
# What the worker's partitionable slot offers of the instance's memory: the kernel keeps
# some, and HTCondor reports what is left (Karpenter assumes 7.5 % the same way).
MEMORY_OVERHEAD = 0.075
# Disk the slot offers: the image's root volume is not known here; a modest bound.
DISK_MB = 20 * 1024
ARCH = {"x86_64": "X86_64", "arm64": "aarch64"}
DESCRIBE_BATCH = 100  # DescribeInstanceTypes takes up to 100 names


@dataclass(frozen=True)
class Shape:
    cpus: int
    memory_mb: int
    gpus: int
    arch: str

    def worker_type(self, name: str, price: float, spot: bool) -> WorkerType:
        return WorkerType(
            name,
            self.cpus,
            self.memory_mb,
            disk_mb=DISK_MB,
            gpus=self.gpus,
            price_per_hour=price,
            spot=spot,
            arch=self.arch,
        )


def offering(name: str, spot: bool) -> str:
    return f"{name}|{'spot' if spot else 'on-demand'}"


def _shape(raw: dict[str, Any]) -> Shape:
    gpus = sum(int(g.get("Count", 0)) for g in raw.get("GpuInfo", {}).get("Gpus", []))
    arches = raw.get("ProcessorInfo", {}).get("SupportedArchitectures", ["x86_64"])
    return Shape(
        cpus=int(raw["VCpuInfo"]["DefaultVCpus"]),
        memory_mb=math.floor(int(raw["MemoryInfo"]["SizeInMiB"]) * (1 - MEMORY_OVERHEAD)),
        gpus=gpus,
        arch=ARCH.get(arches[0], arches[0]),
    )


class Offerings:
    """The cached facts of one region, in `state_dir`."""

    def __init__(self, state_dir: Path, region: str, clock: Callable[[], float] = time.time):
        self.path = state_dir / f"offerings-{region}.json"
        self.region = region
        self.clock = clock

    def _load(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            data = {}
        for key in ("shapes", "prices", "avoid"):
            data.setdefault(key, {})
        return data

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(self.path)

    # -- shapes ------------------------------------------------------------------------
    def shapes(self, ec2: Any, names: list[str]) -> dict[str, Shape]:
        data, now = self._load(), self.clock()
        fresh = {n: s for n, s in data["shapes"].items() if now - s.get("at", 0) < SHAPES_TTL}
        missing = [n for n in names if n not in fresh]
        for start in range(0, len(missing), DESCRIBE_BATCH):
            batch = missing[start : start + DESCRIBE_BATCH]
            try:
                reply = ec2.describe_instance_types(InstanceTypes=batch)
            except ClientError as err:
                if err.response.get("Error", {}).get("Code") == "InvalidInstanceType":
                    raise UsageError(
                        f"EC2 in {self.region} does not know some of {', '.join(batch)} "
                        f"({err.response['Error'].get('Message', '')}); check --instance-types"
                    ) from None
                raise
            for raw in reply.get("InstanceTypes", []):
                fresh[raw["InstanceType"]] = {**_shape(raw).__dict__, "at": now}
        if missing:
            data["shapes"] = fresh
            self._save(data)
        return {
            n: Shape(**{k: v for k, v in fresh[n].items() if k != "at"})
            for n in names
            if n in fresh
        }

    # -- prices ------------------------------------------------------------------------
    def cached_prices(self) -> dict[str, float]:
        data, now = self._load(), self.clock()
        return {n: float(p["usd"]) for n, p in data["prices"].items() if now - p["at"] < PRICES_TTL}

    def remember_prices(self, prices: dict[str, float]) -> None:
        if not prices:
            return
        data, now = self._load(), self.clock()
        data["prices"].update({n: {"usd": usd, "at": now} for n, usd in prices.items()})
        self._save(data)

    # -- offerings to avoid ------------------------------------------------------------
    def avoided(self) -> set[str]:
        now = self.clock()
        return {key for key, until in self._load()["avoid"].items() if until > now}

    def avoid(self, keys: Iterable[str], seconds: float = AVOID_SECONDS) -> None:
        data, now = self._load(), self.clock()
        data["avoid"] = {k: u for k, u in data["avoid"].items() if u > now}
        for key in keys:
            data["avoid"][key] = now + seconds
        self._save(data)


def spot_prices(ec2: Any, names: list[str]) -> dict[str, float]:
    """The latest spot price of each type, the highest over the zones that answer."""
    found: dict[str, float] = {}
    pages = ec2.get_paginator("describe_spot_price_history").paginate(
        InstanceTypes=names,
        ProductDescriptions=["Linux/UNIX", "Linux/UNIX (Amazon VPC)"],
        StartTime=time.time(),
    )
    latest: dict[tuple[str, str], tuple[float, float]] = {}
    for page in pages:
        for entry in page.get("SpotPriceHistory", []):
            key = (entry["InstanceType"], entry.get("AvailabilityZone", ""))
            stamp = entry["Timestamp"].timestamp()
            if key not in latest or stamp > latest[key][0]:
                latest[key] = (stamp, float(entry["SpotPrice"]))
    for (name, _zone), (_stamp, price) in latest.items():
        found[name] = max(found.get(name, 0.0), price)
    return found
