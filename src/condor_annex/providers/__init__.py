"""Providers: one sub-package each, all implementing `providers.base.Provider`."""

from __future__ import annotations

from condor_annex.errors import UsageError
from condor_annex.providers.base import Provider
from condor_annex.store import Store

KNOWN = ("local",)


def get_provider(name: str, store: Store) -> Provider:
    if name == "local":
        from condor_annex.providers.local import LocalProvider

        return LocalProvider(store)
    raise UsageError(f"unknown provider {name!r}; choose one of: {', '.join(KNOWN)}")


__all__ = ["KNOWN", "Provider", "get_provider"]
