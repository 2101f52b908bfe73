"""Annex names: letters, digits and '-', at most 63 characters.

The old tool broke on '_' and on names over 27 characters, and matched by prefix. Names
here are DNS-label shaped (they end up in tags, identities and hostnames) and are always
compared exactly.
"""

from __future__ import annotations

import re

from condor_annex.errors import UsageError

MAX_LENGTH = 63
_VALID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")


def validate_name(name: str) -> str:
    if not name:
        raise UsageError("annex name is empty; use letters, digits and '-'")
    if len(name) > MAX_LENGTH:
        raise UsageError(f"annex name is {len(name)} characters long; use at most {MAX_LENGTH}")
    if not _VALID.fullmatch(name):
        raise UsageError(
            f"annex name {name!r} may hold only letters, digits and '-' (not at either end)"
        )
    return name


# HTCondor's Owner is a login name; keep to what no ClassAd string needs escaping for.
_USER = re.compile(r"[A-Za-z_][A-Za-z0-9._-]{0,63}")


def validate_owner(user: str) -> str:
    if not _USER.fullmatch(user):
        raise UsageError(f"owner {user!r} is not a user name; use login names such as alice,bob")
    return user


# A host name (DNS labels) or an IPv4 address, or an IPv6 address in brackets; then an
# optional port. Nothing else: the value becomes a line of worker configuration.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_POOL_ADDRESS = re.compile(
    rf"(?P<host>{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{{1,5}}))?"
)


def validate_pool_address(address: str) -> str:
    """HOST[:PORT] as workers reach the collector, e.g. seed.example.org:9618."""
    match = _POOL_ADDRESS.fullmatch(address)
    if not match or len(match["host"]) > 253:
        raise UsageError(
            f"pool address {address!r} is not HOST[:PORT]; use e.g. seed.example.org:9618"
        )
    if match["port"] is not None and not 0 < int(match["port"]) < 65536:
        raise UsageError(f"pool address {address!r} has a bad port; use 1 to 65535")
    return address


# A pool's id: the same shape as a cloud pool's name (templates/pool.yaml's PoolName), so
# a seed's id is its pool's name. No '/' or '.', so it can head key prefixes and paths.
MAX_POOL_ID = 32
_POOL_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?")


def validate_pool_id(pool: str, source: str = "ANNEX_POOL_ID") -> str:
    if not _POOL_ID.fullmatch(pool):
        raise UsageError(
            f"{source} {pool!r} is not a pool id; use at most {MAX_POOL_ID} letters, "
            "digits and '-' (not at either end)"
        )
    return pool
