"""The local provider: annex workers are real HTCondor execute nodes on this machine, each
a detached condor_master tree on its own loopback address, with a lease reaper of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from condor_annex.interfaces import Context, Option

if TYPE_CHECKING:
    from condor_annex.interfaces import Account, Catalogue, LeaseReaper, Provider

NAME = "local"
SUMMARY = "real HTCondor workers on this machine (no account needed)"
OPTIONS: tuple[Option, ...] = (
    Option(
        "--shapes",
        "Worker shapes CPUSxMEMORY[@USD an hour, nominal], e.g. 1x512M,2x1536M@0.02: what an "
        "elastic annex may start, or the price of a plain annex's workers "
        "[default: 1x1G,2x2G,4x4G, free].",
        metavar="SHAPES",
    ),
)
CAPABILITIES = frozenset({"renew", "account", "reaper", "catalogue"})


def open_provider(context: Context, options: Mapping[str, Any], location: str) -> Provider:
    from condor_annex.providers.local.provider import LocalProvider

    return LocalProvider(context.store, context.state_dir(NAME))


def open_catalogue(context: Context, options: Mapping[str, Any], location: str) -> Catalogue:
    from condor_annex.providers.local.catalogue import LocalCatalogue
    from condor_annex.providers.local.provider import LocalProvider

    provider = LocalProvider(context.store, context.state_dir(NAME))
    return LocalCatalogue(provider, options.get("shapes"))


def open_account(context: Context, options: Mapping[str, Any]) -> Account:
    from condor_annex.providers.local.account import LocalAccount

    return LocalAccount()


def open_reaper(context: Context, options: Mapping[str, Any]) -> LeaseReaper:
    from condor_annex.providers.local.reaper import LocalReaper

    return LocalReaper(context.store)
