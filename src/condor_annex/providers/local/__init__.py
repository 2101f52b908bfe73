"""The local provider: annex workers are real HTCondor execute nodes on this machine."""

from condor_annex.providers.local.provider import LocalProvider

__all__ = ["LocalProvider"]
