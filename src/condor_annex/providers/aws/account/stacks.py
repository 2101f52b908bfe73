"""CloudFormation stacks made idempotent: create, update, or replace a broken one; then wait.

A stack can be in any state when setup runs again (finished, failed, half-rolled-back,
still in progress from an interrupted run). `deploy` brings it to a finished state with
the given template whatever it started from, and reports progress while it waits, with
a bound (CloudFormation waiters print nothing, so this polls the stack's events itself).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from condor_annex.errors import AnnexError

Say = Callable[[str], None]

STABLE_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}
# States from which the stack cannot be updated: delete it and create it afresh.
REPLACE = {
    "CREATE_FAILED",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "DELETE_FAILED",
    "REVIEW_IN_PROGRESS",
    "IMPORT_ROLLBACK_COMPLETE",
    "IMPORT_ROLLBACK_FAILED",
}
NO_UPDATES = "No updates are to be performed"


def next_action(status: str | None) -> str:
    """What deploy does next for a stack in `status` (None: no such stack)."""
    if status is None or status == "DELETE_COMPLETE":
        return "create"
    if status in STABLE_OK:
        return "update"
    if status == "UPDATE_ROLLBACK_FAILED":
        return "continue-rollback"
    if status in REPLACE:
        return "replace"
    if status.endswith("_IN_PROGRESS"):
        return "wait"
    raise AnnexError(f"stack is in an unknown state {status}; look at it in CloudFormation")


@dataclass
class StackSpec:
    name: str
    template: str
    parameters: dict[str, str]
    tags: dict[str, str]
    capabilities: tuple[str, ...] = ("CAPABILITY_NAMED_IAM",)


class Stacks:
    """CloudFormation calls for one region, with progress and a time bound."""

    def __init__(self, session: Any, say: Say, poll: float = 5.0, timeout: float = 1800):
        self.cf = session.client("cloudformation")
        self.say = say
        self.poll = poll
        self.timeout = timeout

    def status(self, name: str) -> str | None:
        try:
            stacks = self.cf.describe_stacks(StackName=name)["Stacks"]
        except ClientError as err:
            if "does not exist" in str(err):
                return None
            raise
        return stacks[0]["StackStatus"] if stacks else None

    def outputs(self, name: str) -> dict[str, str]:
        stack = self.cf.describe_stacks(StackName=name)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def deploy(self, spec: StackSpec, before_replace: Callable[[], None]) -> dict[str, str]:
        """Bring the stack to the template; `before_replace` runs before a broken one goes."""
        for _ in range(4):  # at most: wait, replace, create, done
            action = next_action(self.status(spec.name))
            if action == "wait":
                self.say(f"Waiting for an earlier change to stack {spec.name} to finish...")
                self.wait(spec.name)
            elif action == "continue-rollback":
                self.say(f"Finishing the rollback of stack {spec.name}...")
                self.cf.continue_update_rollback(StackName=spec.name)
                self.wait(spec.name)
            elif action == "replace":
                self.say(f"Stack {spec.name} is broken; deleting it to start again...")
                before_replace()
                self.delete(spec.name)
            elif action == "create":
                self.say(f"Creating stack {spec.name}...")
                self.cf.create_stack(**self._args(spec), OnFailure="ROLLBACK")
                return self.settle(spec.name, "CREATE_COMPLETE")
            else:
                self.say(f"Updating stack {spec.name}...")
                try:
                    self.cf.update_stack(**self._args(spec))
                except ClientError as err:
                    if NO_UPDATES in str(err):
                        self.say(f"Stack {spec.name} is already up to date.")
                        return self.outputs(spec.name)
                    raise
                return self.settle(spec.name, "UPDATE_COMPLETE")
        raise AnnexError(f"stack {spec.name} did not settle; look at it in CloudFormation")

    def delete(self, name: str) -> None:
        if self.status(name) in (None, "DELETE_COMPLETE"):
            return
        self.cf.delete_stack(StackName=name)
        final = self.wait(name)
        if final not in (None, "DELETE_COMPLETE"):
            raise AnnexError(f"could not delete stack {name} ({final}): {self._failures(name)}")

    def wait(self, name: str) -> str | None:
        """Poll until the stack is out of *_IN_PROGRESS; say each new resource event."""
        seen: set[str] = set()
        deadline = time.monotonic() + self.timeout
        while True:
            status = self.status(name)
            self._report_events(name, seen)
            if status is None or not status.endswith("_IN_PROGRESS"):
                return status
            if time.monotonic() > deadline:
                raise AnnexError(
                    f"stack {name} is still {status} after {self.timeout:.0f}s; "
                    "look at it in CloudFormation, then rerun this command"
                )
            time.sleep(self.poll)

    def settle(self, name: str, want: str) -> dict[str, str]:
        """Wait for the stack to finish; its outputs if it ended `want`, else AnnexError."""
        final = self.wait(name)
        if final != want:
            raise AnnexError(f"stack {name} ended {final}: {self._failures(name)}")
        return self.outputs(name)

    def _args(self, spec: StackSpec) -> dict[str, Any]:
        return {
            "StackName": spec.name,
            "TemplateBody": spec.template,
            "Parameters": [
                {"ParameterKey": k, "ParameterValue": v} for k, v in spec.parameters.items()
            ],
            "Capabilities": list(spec.capabilities),
            "Tags": [{"Key": k, "Value": v} for k, v in spec.tags.items()],
        }

    def _events(self, name: str) -> list[dict[str, Any]]:
        try:
            return self.cf.describe_stack_events(StackName=name)["StackEvents"]
        except ClientError:
            return []  # a deleted stack has no events by name any more

    def _report_events(self, name: str, seen: set[str]) -> None:
        for event in reversed(self._events(name)):
            if event["EventId"] in seen:
                continue
            seen.add(event["EventId"])
            if event["LogicalResourceId"] == name:
                continue
            status = event["ResourceStatus"]
            if status.endswith("_IN_PROGRESS") or status.endswith("_FAILED"):
                reason = f": {event['ResourceStatusReason']}" if status.endswith("_FAILED") else ""
                self.say(f"  {event['LogicalResourceId']} {status.lower()}{reason}")

    def _failures(self, name: str) -> str:
        reasons = [
            f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
            for e in self._events(name)
            if e["ResourceStatus"].endswith("_FAILED")
        ]
        return "; ".join(reasons[:3]) or "no reason given"
