"""condor-annex: elastic capacity for HTCondor pools, the successor of condor_annex.

The importable API; the `annex` and `condor_annex` commands are thin layers over it.
"""

from condor_annex.api import Annexes, Cancelled
from condor_annex.durations import format_duration, parse_duration
from condor_annex.errors import AnnexError, UsageError
from condor_annex.model import AnnexRecord, AnnexRequest
from condor_annex.status import AnnexStatus

__version__ = "0.1.0"

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
