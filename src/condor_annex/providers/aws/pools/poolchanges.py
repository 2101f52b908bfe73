"""`annex pool update` as a CloudFormation change set: make it, show it, then run it.

Only the named parameters change. Every other parameter is UsePreviousValue and the
template is the stack's own (UsePreviousTemplate), so an update cannot alter the security
groups, the role or anything else the user did not name. The change set shows first what
CloudFormation will do: a new worker image only retags the seed; a new control image
replaces the seed (same Elastic IP, but a new disk).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from condor_annex.errors import AnnexError

# CloudFormation's reason when a change set would change nothing.
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


@dataclass(frozen=True)
class ResourceChange:
    action: str  # Add, Modify, Remove, ...
    logical_id: str
    resource_type: str
    replacement: str = ""  # "True", "False", "Conditional" (Modify only)

    @property
    def replaces(self) -> bool:
        return self.replacement in ("True", "Conditional")

    def line(self) -> str:
        text = f"  {self.action} {self.logical_id} ({self.resource_type})"
        if self.replacement == "True":
            text += ": replaced"
        elif self.replacement == "Conditional":
            text += ": may be replaced"
        return text


@dataclass(frozen=True)
class ChangeSetResult:
    status: str
    reason: str
    changes: tuple[ResourceChange, ...]

    @property
    def empty(self) -> bool:
        return self.status == "FAILED" and any(text in self.reason for text in NO_CHANGES)


class PoolChangeSet:
    """One change set of one pool stack, with a bounded wait for CloudFormation."""

    def __init__(
        self, session: Any, stack_name: str, poll: float = 5.0, timeout: float = 600
    ) -> None:
        self.cf = session.client("cloudformation")
        self.stack_name = stack_name
        self.name = f"condor-annex-update-{time.time_ns()}"
        self.poll = poll
        self.timeout = timeout

    def create(self, parameter_keys: list[str], changes: dict[str, str]) -> None:
        parameters = [
            {"ParameterKey": key, "ParameterValue": changes[key]}
            if key in changes
            else {"ParameterKey": key, "UsePreviousValue": True}
            for key in parameter_keys
        ]
        self.cf.create_change_set(
            StackName=self.stack_name,
            ChangeSetName=self.name,
            ChangeSetType="UPDATE",
            UsePreviousTemplate=True,
            Parameters=parameters,
            Capabilities=["CAPABILITY_NAMED_IAM"],
            Description="annex pool update: " + ", ".join(f"{k}={v}" for k, v in changes.items()),
        )

    def wait(self) -> ChangeSetResult:
        """Until CloudFormation has computed the changes (or found there are none)."""
        deadline = time.monotonic() + self.timeout
        while True:
            first = self.cf.describe_change_set(StackName=self.stack_name, ChangeSetName=self.name)
            status = first["Status"]
            if status in ("CREATE_COMPLETE", "FAILED"):
                return ChangeSetResult(status, first.get("StatusReason", ""), self._changes(first))
            if time.monotonic() > deadline:
                raise AnnexError(
                    f"change set {self.name} of stack {self.stack_name} is still {status} "
                    f"after {self.timeout:.0f}s; look at it in CloudFormation"
                )
            time.sleep(self.poll)

    def _changes(self, page: dict[str, Any]) -> tuple[ResourceChange, ...]:
        found = []
        while True:
            for change in page.get("Changes", []):
                rc = change.get("ResourceChange", {})
                found.append(
                    ResourceChange(
                        action=rc.get("Action", ""),
                        logical_id=rc.get("LogicalResourceId", ""),
                        resource_type=rc.get("ResourceType", ""),
                        replacement=rc.get("Replacement", ""),
                    )
                )
            token = page.get("NextToken")
            if not token:
                return tuple(found)
            page = self.cf.describe_change_set(
                StackName=self.stack_name, ChangeSetName=self.name, NextToken=token
            )

    def execute(self) -> None:
        self.cf.execute_change_set(StackName=self.stack_name, ChangeSetName=self.name)

    def discard(self) -> None:
        """Best effort: an unexecuted change set costs nothing, but clutters the console."""
        with contextlib.suppress(ClientError):
            self.cf.delete_change_set(StackName=self.stack_name, ChangeSetName=self.name)
