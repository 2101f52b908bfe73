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
