"""Which principal sent which AWS operation: botocore's events, in the test process and in
every Python process the tests start (through sitecustomize, see policysite/).

Every botocore session made after `install()` gets two handlers:

- `before-parameter-build` notes the request parameters that make AWS check further
  actions (an instance profile means iam:PassRole, tags mean ec2:CreateTags...), and
  records presigned URLs (generate_presigned_url fires this event, but never before-call);
- `before-call` records the operation and marks the request with a header naming it, so
  the moto-side record (policyrecord.py) tells these requests from those of processes
  this hook is not in (the worker boot script's python3 or aws, curl).

The principal is read from the call stack, not from the caller's say-so. A call whose
innermost caller is test code is the harness's (the tests' own set-up, never judged);
one whose innermost caller is the tool's is the reaper's if `reap` or the Lambda
`handler` is on the stack, the seed's if the annex provider is (`AwsProvider`, or
`aws_provider` building it: the seed runs exactly that for `annex create/status/renew/
off`), and otherwise the operator's. A call from a thread the tool started would show
only that thread's stack; the tool starts none that call AWS. Only the standard library and
botocore are used: this module is loaded into subprocesses by file path.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

MARK_HEADER = "x-condor-annex-policy-record"
RECORD_DIR_VARIABLE = "CONDOR_ANNEX_POLICY_RECORD_DIR"
TEST_VARIABLE = "CONDOR_ANNEX_POLICY_TEST"

REAPER, SEED, OPERATOR, HARNESS = "reaper", "seed", "operator", "harness"
WORKER, BUILDER = "worker", "builder"
PACKAGE = "condor_annex"
TESTS = str(Path(__file__).resolve().parents[1]) + os.sep  # the repository's tests/
# (principal, module, functions or None for any): the first rule any frame matches wins.
RULES: tuple[tuple[str, str, frozenset[str] | None], ...] = (
    (REAPER, "condor_annex.providers.aws.reaper", frozenset({"reap", "handler"})),
    (SEED, "condor_annex.providers.aws.annexes.provider", None),
    (SEED, "condor_annex.providers.aws.annexes.options", frozenset({"aws_provider"})),
    # The seed runs elastic annexes too (ANNEX_AUTOSCALER): their catalogue and fleets.
    (SEED, "condor_annex.providers.aws.annexes.catalogue", None),
    (SEED, "condor_annex.providers.aws.annexes.fleet", None),
)

# Request parameters after which AWS authorises more than the operation's own action
# (policycheck.IMPLIED says which); only their presence is recorded, never a value.
FLAG_PARAMETERS = {
    ("ec2", "RunInstances"): ("IamInstanceProfile", "TagSpecifications"),
    ("ec2", "CreateFleet"): ("TagSpecifications", "LaunchTemplateConfigs"),
    ("ec2", "CreateSecurityGroup"): ("TagSpecifications",),
    ("ec2", "CreateImage"): ("TagSpecifications",),
    ("iam", "CreateRole"): ("Tags",),
    ("iam", "CreateInstanceProfile"): ("Tags",),
    ("iam", "CreatePolicy"): ("Tags",),
    ("s3", "PutObject"): ("Tagging",),
    ("s3", "CopyObject"): ("CopySource",),
    ("cloudformation", "CreateStack"): ("Tags",),
    ("cloudformation", "UpdateStack"): ("Tags",),
}


def frames(start: FrameType | None) -> Iterator[FrameType]:
    frame = start
    while frame is not None:
        yield frame
        frame = frame.f_back


def attribute(start: FrameType | None) -> tuple[str, str]:
    """(principal, module) of the call whose stack starts here.

    The innermost frame of either the tool or the tests decides whose call it is (the SDK,
    the standard library and pytest in between do not): a test's lambda that the tool's
    `wait_for` runs is the harness's, the tool's code that a test calls is the tool's.
    Test code is told by its file (pytest may import tests/aws/x.py as `aws.x`).
    """
    stack = [
        (f.f_globals.get("__name__", ""), f.f_code.co_name, f.f_code.co_filename)
        for f in frames(start)
    ]
    caller = next(
        (m for m, _, path in stack if m.split(".")[0] == PACKAGE or path.startswith(TESTS)),
        "",
    )
    if not caller.startswith(f"{PACKAGE}."):
        return HARNESS, ""
    for principal, module, functions in RULES:
        if any(m == module and (functions is None or fn in functions) for m, fn, _ in stack):
            return principal, caller
    return OPERATOR, caller


def _present(params: dict[str, Any], path: str) -> bool:
    value: Any = params
    for part in path.split("."):
        if not isinstance(value, dict) or not value.get(part):
            return False
        value = value[part]
    return True


def flags(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    names = FLAG_PARAMETERS.get((service, operation), ())
    return [name for name in names if _present(params, name)]


class Sink:
    """Appends records as JSON lines to one file per process under the record directory."""

    def __init__(self, directory: str, how: str) -> None:
        self.path = os.path.join(directory, f"{how}-{os.getpid()}.jsonl")
        self.how = how
        self.lock = threading.Lock()

    def write(self, entry: dict[str, Any]) -> None:
        entry = {**entry, "how": self.how, "test": os.environ.get(TEST_VARIABLE, "")}
        with self.lock, open(self.path, "a") as out:
            out.write(json.dumps(entry, sort_keys=True) + "\n")


def handlers(sink: Sink) -> tuple[Callable[..., None], Callable[..., None]]:
    """The before-parameter-build and before-call handlers writing to `sink`."""

    def on_params(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_name
        noted = flags(service, model.name, params)
        if context.get("is_presign_request"):
            principal, module = attribute(sys._getframe(1))
            sink.write(
                {
                    "principal": principal,
                    "module": module,
                    "call": f"{service}.{model.name}",
                    "flags": [*noted, "presigned"],
                }
            )
        else:
            context["policy_record_flags"] = noted

    def on_call(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_name
        principal, module = attribute(sys._getframe(1))
        call = f"{service}.{model.name}"
        sink.write(
            {
                "principal": principal,
                "module": module,
                "call": call,
                "flags": context.get("policy_record_flags", []),
            }
        )
        params.setdefault("headers", {})[MARK_HEADER] = call

    return on_params, on_call


_installed: list[Sink] = []


def install(directory: str, how: str, session_module: Any = None) -> Sink:
    """Hook every botocore session made from now on in this process (once).

    `session_module`: botocore.session while it is still being imported (sitecustomize).
    """
    if _installed:
        return _installed[0]
    if session_module is None:
        import botocore.session as session_module

    sink = Sink(directory, how)
    on_params, on_call = handlers(sink)
    original = session_module.Session.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.register("before-parameter-build", on_params, unique_id="policy-record-params")
        self.register("before-call", on_call, unique_id="policy-record-call")

    session_module.Session.__init__ = init
    _installed.append(sink)
    return sink
