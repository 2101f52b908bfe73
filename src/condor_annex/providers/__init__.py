"""Providers: one sub-package each, found by name through `registry`; each exports the set
described in `condor_annex.interfaces.plugin`."""

from __future__ import annotations

from condor_annex.interfaces import Provider
from condor_annex.providers import registry

__all__ = ["Provider", "registry"]
