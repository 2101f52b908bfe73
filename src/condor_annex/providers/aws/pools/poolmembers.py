"""Which instances belong to which pool in the cloud: its seed and its annexes' workers.

The seed carries `condor-annex:pool=<pool name>` (a tag of the pool's stack). A worker
carries the id of the pool that made its annex (`condor-annex:pool`: the pool's name when
its seed made it) and its collector, `host:port` (`condor-annex:collector`), as
`annex create` wrote them (instances.annex_tags). So a worker belongs to the pool whose
name is its pool id, or one of whose seed's addresses (public or private, IP or DNS
name) is its collector's host: workers launched into the pool from a laptop count too.
One paginated, tag-filtered DescribeInstances answers for every pool at once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from condor_annex.providers.aws.annexes.instances import PAGE_SIZE, Instance, tag_dict, to_instance
from condor_annex.providers.aws.reaper import TAG_ANNEX, TAG_COLLECTOR, TAG_POOL

HOST_FIELDS = ("PublicIpAddress", "PrivateIpAddress", "PublicDnsName", "PrivateDnsName")


@dataclass
class Members:
    seeds: list[Instance] = field(default_factory=list)
    workers: list[Instance] = field(default_factory=list)
    hosts: set[str] = field(default_factory=set)  # the seeds' addresses and names
    public_dns: str = ""  # the seed's public name (inside the VPC it resolves privately)

    @property
    def annexes(self) -> set[tuple[str, str]]:
        """(pool id, annex name) of every annex with a worker here."""
        return {(w.pool, w.annex) for w in self.workers}

    @property
    def ids(self) -> set[str]:
        return {i.id for i in (*self.seeds, *self.workers)}


def _host(collector: str) -> str:
    """`host:port` -> host (an address without a port is the host itself)."""
    host, sep, port = collector.rpartition(":")
    return host if sep and port.isdigit() else collector


def _tagged(ec2: Any, states: Collection[str]) -> Iterator[dict[str, Any]]:
    filters = [
        {"Name": "tag-key", "Values": [TAG_POOL]},
        {"Name": "instance-state-name", "Values": list(states)},
    ]
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=filters, PaginationConfig={"PageSize": PAGE_SIZE}
    )
    for page in pages:
        for reservation in page["Reservations"]:
            yield from reservation["Instances"]


def pool_members(
    ec2: Any,
    pools: Collection[str],
    states: Collection[str],
    known_hosts: Mapping[str, Collection[str]] | None = None,
) -> dict[str, Members]:
    """Each named pool's seeds and workers among instances in `states`.

    `known_hosts` adds a pool's seed addresses known from elsewhere (its stack's Elastic
    IP), so the workers of a pool whose seed is already gone are still found.
    """
    found = {name: Members(hosts=set((known_hosts or {}).get(name, ()))) for name in pools}
    raw = list(_tagged(ec2, states))
    for inst in raw:
        tags = tag_dict(inst.get("Tags"))
        pool = found.get(tags[TAG_POOL])
        if pool is not None and TAG_ANNEX not in tags:
            pool.seeds.append(to_instance(inst))
            pool.hosts.update(inst[f] for f in HOST_FIELDS if inst.get(f))
            pool.public_dns = pool.public_dns or inst.get("PublicDnsName", "")
    for inst in raw:
        tags = tag_dict(inst.get("Tags"))
        if TAG_ANNEX not in tags:
            continue
        for name, members in found.items():
            collector = tags.get(TAG_COLLECTOR, "")
            if tags[TAG_POOL] == name or (collector and _host(collector) in members.hosts):
                members.workers.append(to_instance(inst))
                break
    return found
