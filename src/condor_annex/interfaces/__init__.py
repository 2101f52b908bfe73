"""The contracts between the core and its providers (compare COBalD/TARDIS's interfaces/).

A provider package (`condor_annex.providers.<name>`) exports the same small set; see
`plugin.py`. Everything a provider may do beyond starting, looking at and ending workers is
an optional capability with its own small interface in `capabilities.py`.
"""

from condor_annex.interfaces.capabilities import (
    CAPABILITIES,
    Account,
    Catalogue,
    LeaseReaper,
    Renewable,
)
from condor_annex.interfaces.observation import Observation, Seen
from condor_annex.interfaces.options import Option, Scope
from condor_annex.interfaces.provider import Context, Cost, Provider, Timing

__all__ = [
    "CAPABILITIES",
    "Account",
    "Catalogue",
    "Context",
    "Cost",
    "LeaseReaper",
    "Observation",
    "Option",
    "Provider",
    "Renewable",
    "Scope",
    "Seen",
    "Timing",
]
