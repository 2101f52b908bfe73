"""The AWS provider's "account" and "reaper" capabilities, over the functions in
commands.py, with credentials from the provider's own options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from condor_annex.errors import Cancelled
from condor_annex.interfaces.capabilities import Confirm, Say
from condor_annex.providers.aws.account import commands
from condor_annex.providers.aws.account.condorconfig import default_user_config
from condor_annex.providers.aws.account.inventory import take_inventory
from condor_annex.providers.aws.annexes.options import AwsOptions
from condor_annex.providers.aws.awserrors import aws_errors


class _WithSession:
    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = AwsOptions.from_given(options)
        self.config_file = options.get("config_file")

    def session(self) -> Any:
        return self.options.session()


class AwsAccount(_WithSession):
    @aws_errors  # an unreachable endpoint is a one-line failure, never a traceback
    def setup(self, say: Say) -> None:
        commands.setup(self.session(), say, config_file=self.config_file or default_user_config())

    @aws_errors
    def check_setup(self, say: Say) -> bool:
        return all(r.ok for r in commands.check_setup(self.session(), say))

    @aws_errors
    def teardown(self, say: Say, confirm: Confirm) -> bool:
        session = self.session()
        before = take_inventory(session)
        if before.empty:
            for line in before.lines():
                say(line)
            return True
        summary = (
            f"Will remove everything condor-annex made in {before.region} "
            f"({len(before.resources)}):"
        )
        say(summary)
        for line in before.lines()[1:]:
            say(line)
        if not confirm(summary):
            raise Cancelled("nothing was removed")
        left = commands.teardown(session, say)
        for line in left.lines():
            say(line)
        return left.empty


class AwsReaper(_WithSession):
    def reap(self, now: float, say: Say) -> bool:
        report = commands.reap_now(self.session(), now)
        for line in report.lines():
            say(line)
        return not report.errors
