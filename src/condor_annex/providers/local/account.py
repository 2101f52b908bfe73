"""The local provider's account side: there is no account, only the HTCondor runtime."""

from __future__ import annotations

from condor_annex.errors import UsageError
from condor_annex.interfaces.capabilities import Confirm, Say
from condor_annex.runtime import get_runtime


class LocalAccount:
    def setup(self, say: Say) -> None:
        say("The local provider needs no account setup; 'annex runtime install' is all.")

    def check_setup(self, say: Say) -> bool:
        get_runtime()  # a one-line error naming the fix if HTCondor is missing
        say("Checking for the HTCondor runtime... OK.")
        return True

    def teardown(self, say: Say, confirm: Confirm) -> bool:
        raise UsageError(
            "the local provider has no account to tear down; "
            "'annex pool down' ends the local pool and its annexes"
        )
