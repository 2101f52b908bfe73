"""What every provider package exports (as SkyPilot gives every cloud the same functions
under provision/<cloud>). The registry checks these at discovery.

Required:
    NAME: str                        "aws"
    SUMMARY: str                     one line for --help
    OPTIONS: tuple[Option, ...]      its flags (see options.py)
    CAPABILITIES: frozenset[str]     which optional capabilities it has (capabilities.py)
    open_provider(context, options, location) -> Provider
        options: the values of its own OPTIONS that were given, by Option.dest
        location: an existing annex's location, or "" for new annexes (the provider picks)

Optional, each only when named in CAPABILITIES ("renew" needs no export: the Provider
itself implements Renewable):
    open_account(context, options) -> Account
    open_reaper(context, options) -> LeaseReaper
    open_catalogue(context, options, location) -> Catalogue
    add_commands(cli: click.Group, say) -> None
    open_standalone(context, options, say) -> AbstractContextManager[None]

(The names differ from any sub-module's: importing a sub-module named like an export would
replace the export on the package.)

A package must import nothing heavy at module level (no cloud SDKs, no HTCondor
bindings): the CLI reads every package's OPTIONS to build its --help.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from condor_annex.interfaces.options import Option
from condor_annex.interfaces.provider import Context, Provider

REQUIRED = ("NAME", "SUMMARY", "OPTIONS", "CAPABILITIES", "open_provider")
# The function a package exports for each optional capability.
EXPORTS = {
    "account": "open_account",
    "reaper": "open_reaper",
    "catalogue": "open_catalogue",
    "commands": "add_commands",
    "standalone": "open_standalone",
}


class ProviderPackage(Protocol):
    NAME: str
    SUMMARY: str
    OPTIONS: tuple[Option, ...]
    CAPABILITIES: frozenset[str]

    def open_provider(
        self, context: Context, options: Mapping[str, Any], location: str
    ) -> Provider: ...
