"""The record of every AWS operation the AWS tests send, by principal (conftest.py uses it).

How each call is captured:

- In the test process, every botocore session gets policycapture's handlers (installed
  when this module is imported, before any test makes a session).
- Python processes the tests start (`annex` and `condor_annex` run as commands) inherit
  PYTHONPATH with policysite/, whose sitecustomize installs the same handlers there.
- Everything else reaching moto (the worker boot script's python3 or aws command,
  curl, a presigned URL) is found in moto's own request recorder: every request the hooks
  sent carries a header naming its operation, so a request without one came from outside
  them. Its operation is read from the HTTP request (httpoperation.py), and its principal
  from how it was sent: a presigned URL is the image builder's (signed by the operator);
  a request from a test in FOREIGN_SENDERS is that test's stand-in's; any other is
  "unattributed", which test_policies fails on.

The per-test pieces land in a directory of this session; `session_record()` merges them
into {principal: {call: {module: [flags]}}}. Not captured: calls made by
AWS itself (CloudFormation's handlers, the Lambda runtime writing the reaper's logs):
policycheck derives the first from the templates, and the second is a reviewed grant.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from . import policycapture
from .httpoperation import HttpRequest, operation

HERE = Path(__file__).resolve().parent
RECORD_FILE = HERE / "policy-record.json"
SITE_DIR = HERE / "policysite"
# Requests no hook saw, by the test that sent them: what stands in for which principal.
FOREIGN_SENDERS = {
    "test_worker_boot_real.py": policycapture.WORKER,  # the boot script, run for real
    "test_provider_bootscript.py": policycapture.WORKER,  # the boot script with stand-ins
    "test_classic_bootscript.py": policycapture.WORKER,  # the same, with -config-dir files
}
FOREIGN_FROM = {
    policycapture.WORKER: "worker-boot.sh (another process)",
    policycapture.BUILDER: "image-build.sh (presigned URL)",
}

SESSION_DIR = Path(tempfile.mkdtemp(prefix="condor-annex-policy-record-"))
MOTO_RECORDING = SESSION_DIR / "moto-recording.jsonl"
TESTS_FILE = SESSION_DIR / "tests.jsonl"
# moto reads this when its API module first loads, at the first request to the server.
os.environ["MOTO_RECORDER_FILEPATH"] = str(MOTO_RECORDING)
policycapture.install(str(SESSION_DIR), "in-process")


def start_recording(moto_url: str) -> None:
    request = urllib.request.Request(  # noqa: S310 - the local moto server
        f"{moto_url}/moto-api/recorder/start-recording", method="POST"
    )
    with urllib.request.urlopen(request) as reply:  # noqa: S310
        assert reply.status == 200


def recording_size() -> int:
    return MOTO_RECORDING.stat().st_size if MOTO_RECORDING.exists() else 0


def note_test(nodeid: str, start: int, end: int, outcome: str) -> None:
    with TESTS_FILE.open("a") as out:
        out.write(json.dumps({"test": nodeid, "start": start, "end": end, "outcome": outcome}))
        out.write("\n")


def recording_env(nodeid: str) -> dict[str, str]:
    """What a test's environment gets so its Python subprocesses record too."""
    path = os.environ.get("PYTHONPATH", "")
    return {
        policycapture.RECORD_DIR_VARIABLE: str(SESSION_DIR),
        policycapture.TEST_VARIABLE: nodeid,
        "PYTHONPATH": f"{SITE_DIR}{os.pathsep}{path}" if path else str(SITE_DIR),
    }


OUTCOMES: dict[str, str] = {}  # test -> its worst outcome (failed > skipped > passed)
POLICY_TESTS = "test_policies.py"


@pytest.fixture(scope="session")
def policy_recording(moto_url: str) -> str:
    start_recording(moto_url)
    return moto_url


@pytest.fixture(autouse=True)
def policy_test(
    request: pytest.FixtureRequest, policy_recording: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Tags this test's calls, in this process and in the Python processes it starts, and
    notes which stretch of moto's recording is its. (Set up first, torn down last.)"""
    for name, value in recording_env(request.node.nodeid).items():
        monkeypatch.setenv(name, value)
    start = recording_size()
    yield
    note_test(request.node.nodeid, start, recording_size(), OUTCOMES.get(request.node.nodeid, ""))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    rank = {"passed": 0, "skipped": 1, "failed": 2}
    if rank[report.outcome] >= rank.get(OUTCOMES.get(report.nodeid, "passed"), 0):
        OUTCOMES[report.nodeid] = report.outcome


def pytest_sessionfinish(exitstatus: int) -> None:
    """The session's pieces go, unless something failed: then they stay to be looked at."""
    if exitstatus == 0:
        shutil.rmtree(SESSION_DIR, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The policy tests judge what the others sent: they run last."""
    items.sort(key=lambda item: item.path.name == POLICY_TESTS)


# -- reading the session's pieces ----------------------------------------------------------
Calls = dict[str, dict[str, dict[str, list[str]]]]  # principal -> call -> module -> flags


@dataclass
class SessionRecord:
    calls: dict[str, dict[str, dict[str, set[str]]]] = field(default_factory=dict)
    hooked: int = 0  # requests the hooks marked
    foreign: int = 0  # requests from outside them
    mismatched: list[str] = field(default_factory=list)  # parser disagrees with the hook
    unattributed: list[str] = field(default_factory=list)
    harness: int = 0  # the tests' own set-up calls, not judged
    tests: list[dict[str, Any]] = field(default_factory=list)
    foreign_by_module: dict[str, int] = field(default_factory=dict)

    def add(self, principal: str, call: str, where: str, flags: list[str]) -> None:
        modules = self.calls.setdefault(principal, {}).setdefault(call, {})
        modules.setdefault(where, set()).update(flags)

    def as_json(self) -> Calls:
        return {
            principal: {
                call: {where: sorted(flags) for where, flags in sorted(modules.items())}
                for call, modules in sorted(calls.items())
            }
            for principal, calls in sorted(self.calls.items())
        }


def _recorded_requests() -> Iterator[tuple[int, dict[str, Any]]]:
    """(offset, entry) of every request moto recorded. Entries are parsed one after
    another, not by line: concurrent requests may put two on one line."""
    if not MOTO_RECORDING.exists():
        return
    text = MOTO_RECORDING.read_bytes().decode()
    assert text.isascii(), "moto's recording is JSON with ASCII escapes: offsets are bytes"
    decoder = json.JSONDecoder()
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return
        entry, end = decoder.raw_decode(text, index)
        yield index, entry
        index = end


def _test_at(tests: list[dict[str, Any]], offset: int) -> str:
    for test in tests:
        if test["start"] <= offset < test["end"]:
            return str(test["test"])
    return ""


def _http(entry: dict[str, Any]) -> HttpRequest:
    body = entry.get("body") or ""
    data = base64.b64decode(body) if entry.get("body_encoded") else str(body).encode()
    return HttpRequest(entry["method"], entry["url"], dict(entry["headers"]), data)


def session_record() -> SessionRecord:
    record = SessionRecord()
    if TESTS_FILE.exists():
        record.tests = [json.loads(line) for line in TESTS_FILE.read_text().splitlines()]
    for piece in sorted(SESSION_DIR.glob("*-*.jsonl")):
        if piece in (MOTO_RECORDING, TESTS_FILE):
            continue
        for line in piece.read_text().splitlines():
            call = json.loads(line)
            if call["principal"] == policycapture.HARNESS:
                record.harness += 1
            else:
                record.add(call["principal"], call["call"], call["module"], call["flags"])
    for offset, entry in _recorded_requests():
        request = _http(entry)
        if "/moto-api/" in request.url:
            continue
        host = request.header("Host")
        marked = request.header(policycapture.MARK_HEADER)
        try:
            service, name = operation(request, host)
            found = f"{service}.{name}"
        except LookupError as err:
            found = f"? ({err})"
        if marked:
            record.hooked += 1
            if marked != found:
                record.mismatched.append(f"{marked} read as {found}")
            continue
        record.foreign += 1
        test = _test_at(record.tests, offset)
        module = test.split("::")[0].rpartition("/")[2]
        record.foreign_by_module[module] = record.foreign_by_module.get(module, 0) + 1
        principal = policycapture.BUILDER if request.presigned else FOREIGN_SENDERS.get(module, "")
        if not principal or found.startswith("?"):
            record.unattributed.append(f"{found} {request.method} {request.url} in {test!r}")
            continue
        flags = ["presigned"] if request.presigned else []
        record.add(principal, found, FOREIGN_FROM[principal], flags)
    return record


def committed_record() -> Calls:
    data: Calls = json.loads(RECORD_FILE.read_text())["principals"]
    return data


def write_record(record: SessionRecord) -> None:
    about = (
        "Every AWS operation the tests in tests/aws sent: principal -> call -> the module "
        "it came from -> the parameters that make AWS authorise more. Written by "
        "CONDOR_ANNEX_POLICY_RECORD=update pytest tests/aws (tests/aws/policyrecord.py); "
        "judged by tests/aws/test_policies.py."
    )
    body = {"about": about, "principals": record.as_json()}
    RECORD_FILE.write_text(json.dumps(body, indent=2) + "\n")


def not_in(fresh: Calls, committed: Calls) -> list[str]:
    """What `fresh` has that `committed` lacks: a call, a module it came from, a flag."""
    missing = []
    for principal, calls in fresh.items():
        for call, modules in calls.items():
            for where, flags in modules.items():
                known = committed.get(principal, {}).get(call, {}).get(where)
                if known is None:
                    missing.append(f"{principal}: {call} from {where}")
                elif set(flags) - set(known):
                    missing.append(f"{principal}: {call} from {where} with {flags}")
    return missing
