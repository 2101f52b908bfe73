"""Loopback addresses for local workers: each worker looks like its own host.

127.0.0.1 is the seed; workers take 127.0.0.2 upwards (the whole 127/8 is loopback).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

PER_OCTET = 250


def address(index: int) -> str:
    return f"127.0.{index // PER_OCTET}.{index % PER_OCTET + 2}"


def free_addresses(used: Iterable[str]) -> Iterator[str]:
    taken = set(used)
    index = 0
    while True:
        candidate = address(index)
        if candidate not in taken:
            yield candidate
        index += 1
