"""The local provider: annex workers are real HTCondor execute nodes on this machine, each
a detached condor_master tree on its own loopback address, with a lease reaper of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from condor_annex.interfaces import Context, Option

if TYPE_CHECKING:
    from condor_annex.interfaces import Account, LeaseReaper, Provider

NAME = "local"
SUMMARY = "real HTCondor workers on this machine (no account needed)"
OPTIONS: tuple[Option, ...] = ()
CAPABILITIES = frozenset({"renew", "account", "reaper"})


def open_provider(context: Context, options: Mapping[str, Any], location: str) -> Provider:
    from condor_annex.providers.local.provider import LocalProvider

    return LocalProvider(context.store, context.state_dir(NAME))


def open_account(context: Context, options: Mapping[str, Any]) -> Account:
    from condor_annex.providers.local.account import LocalAccount

    return LocalAccount()


def open_reaper(context: Context, options: Mapping[str, Any]) -> LeaseReaper:
    from condor_annex.providers.local.reaper import LocalReaper

    return LocalReaper(context.store)
