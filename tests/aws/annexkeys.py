"""The pool id the AWS tests' annexes belong to, and their object prefixes under it."""

from __future__ import annotations

from pathlib import Path

from condor_annex.poolid import FILE_NAME
from condor_annex.providers.aws.reaper import annex_prefix

POOL = "testpool"


def prefix(annex: str, pool: str = POOL) -> str:
    return annex_prefix(pool, annex)


def home_pool(home: Path) -> str:
    """The pool id a tool home made for itself (poolid.py), once a command has run."""
    return (home / FILE_NAME).read_text().strip()


def home_prefix(home: Path, annex: str) -> str:
    return annex_prefix(home_pool(home), annex)
