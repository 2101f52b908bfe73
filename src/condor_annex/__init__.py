"""condor-annex: elastic capacity for HTCondor pools, the successor of condor_annex.

The importable API; the `annex` and `condor_annex` commands are thin layers over it.
"""

import importlib
from typing import Any

from condor_annex.errors import AnnexError, Cancelled, UsageError

__version__ = "0.1.0"

# Loaded on first use: they bring in HTCondor's bindings, which a command's --help and
# usage errors never need.
_LAZY = {
    "Annexes": "condor_annex.api",
    "AnnexRecord": "condor_annex.model",
    "AnnexRequest": "condor_annex.model",
    "AnnexStatus": "condor_annex.status",
    "format_duration": "condor_annex.durations",
    "parse_duration": "condor_annex.durations",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AnnexError",
    "AnnexRecord",
    "AnnexRequest",
    "AnnexStatus",
    "Annexes",
    "Cancelled",
    "UsageError",
    "format_duration",
    "parse_duration",
]
