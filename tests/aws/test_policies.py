"""Each principal's IAM policy is sufficient and least, judged against what the code sends.

moto does not evaluate IAM, so a policy can lack an action the code calls and every other
test still passes (the reaper's once lacked ec2:CreateTags). Here the record of every
operation the AWS tests sent (policyrecord.py says how each principal's calls are
captured, and what is not) is checked against the policies the templates hold:

- reaper: account.yaml's ReaperRole (its calls: `reap` and the Lambda `handler`);
- seed: pool.yaml's SeedRole (its calls: the annex provider, as `annex create`, `status`,
  `renew` and `off` drive it on the seed);
- worker: account.yaml's shared WorkerPolicy, the only permission policy of an annex's
  role (workeridentity.py makes the role with a trust policy and attaches that; an
  --instance-policy is the user's own); its calls: the boot script's S3 reads;
- builder: no role at all; its one call is the PUT of a URL the operator presigned;
- operator: everything else the tool sends, plus the seed's and the reaper's (the
  operator may run `annex create` and `annex reap` from a laptop), plus what
  CloudFormation does on the operator's behalf for the tool's stacks. Its policy is
  generated from the record: docs/operator-policy.json.

The check is by action: Conditions and Resources are not judged (policycheck.py), and a
Deny limited by either is printed, not applied. The committed record is
tests/aws/policy-record.json; the first test here fails when this run sent a call it
lacks. `CONDOR_ANNEX_POLICY_RECORD=update pytest tests/aws` rewrites it and the operator's
policy (only from a run of every AWS test with none failed or skipped).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from condor_annex.providers.aws.annexes.workeridentity import TRUST_POLICY

from . import policyrecord
from .policycapture import BUILDER, OPERATOR, REAPER, SEED, WORKER
from .policycheck import Policy, actions_for, on_behalf, template, template_policy

UPDATE = os.environ.get("CONDOR_ANNEX_POLICY_RECORD") == "update"
OPERATOR_POLICY = Path(__file__).resolve().parents[2] / "docs/operator-policy.json"
# principal -> (template, logical ids of its permission policies)
POLICIES = {
    REAPER: ("account.yaml", ("ReaperRole",)),
    SEED: ("pool.yaml", ("SeedRole",)),
    WORKER: ("account.yaml", ("WorkerPolicy",)),
}
# Reviewed: granted, but no call of the tool's code in the record uses it; why it stays.
UNUSED = {
    REAPER: {
        "logs:createlogstream": "the Lambda runtime writes the reaper's log with the role",
        "logs:putlogevents": "the Lambda runtime writes the reaper's log with the role",
    },
    SEED: {
        "ec2:describesubnets": "checks a spot fleet config's subnets before a launch "
        "(launchchecks.check_network); no seed test passes one",
    },
    WORKER: {},
}
MANAGED_POLICY_CHARACTERS = 6144  # IAM's limit, white space not counted
# Whose calls the operator's policy must also cover (they run the same code from a laptop).
OPERATOR_RUNS = (OPERATOR, SEED, REAPER)


def record() -> policyrecord.Calls:
    return policyrecord.committed_record()


def flags_of(modules: dict[str, list[str]]) -> set[str]:
    return {flag for flags in modules.values() for flag in flags}


def needed(calls: dict[str, dict[str, list[str]]]) -> dict[str, set[str]]:
    """IAM action (lower case) -> the recorded calls that need it."""
    found: dict[str, set[str]] = {}
    for call, modules in calls.items():
        for action in actions_for(call, flags_of(modules)) | on_behalf(call):
            found.setdefault(action.lower(), set()).add(call)
    return found


def full_run() -> list[str]:
    """Why this session is not a run of every AWS test, passed ([] when it is)."""
    here = Path(__file__).resolve().parent
    modules = {p.name for p in here.glob("test_*.py")} - {Path(__file__).name}
    ran = {test.split("::")[0].rpartition("/")[2] for test in policyrecord.OUTCOMES}
    problems = [f"{m} did not run" for m in sorted(modules - ran)]
    problems += [
        f"{test} {outcome}"
        for test, outcome in sorted(policyrecord.OUTCOMES.items())
        if outcome != "passed" and Path(__file__).name not in test
    ]
    return problems


def test_the_record_holds_every_call_this_run_made() -> None:
    """Runs after every other test (policyrecord orders it so)."""
    fresh = policyrecord.session_record()
    print(
        f"this run: {fresh.hooked} requests from hooked code, {fresh.foreign} from "
        f"elsewhere ({fresh.foreign_by_module}), {fresh.harness} calls of the tests' own "
        "set-up (not judged)"
    )
    where = f"(the session's pieces: {policyrecord.SESSION_DIR})"
    assert sorted(set(fresh.unattributed)) == [], f"requests of no known principal {where}"
    assert sorted(set(fresh.mismatched)) == [], f"httpoperation misreads requests {where}"
    if all(Path(__file__).name in t["test"] for t in fresh.tests):
        pytest.skip("no other AWS test ran in this session: nothing to compare")
    if UPDATE:
        problems = full_run()
        assert problems == [], "the record is rewritten only from a full, green run"
        policyrecord.write_record(fresh)
        return
    missing = policyrecord.not_in(fresh.as_json(), record())
    assert missing == [], (
        "calls the committed record lacks: judge them, then rewrite it with "
        "CONDOR_ANNEX_POLICY_RECORD=update pytest tests/aws"
    )


def test_every_recorded_call_is_a_known_iam_action() -> None:
    for principal, calls in record().items():
        for call, modules in calls.items():
            assert actions_for(call, flags_of(modules)) is not None, (principal, call)


def policy_of(principal: str) -> Policy:
    name, ids = POLICIES[principal]
    return template_policy(name, *ids)


def lacking(policy: Policy, principal: str) -> dict[str, list[str]]:
    """IAM action -> the recorded calls of `principal` that need it and `policy` lacks."""
    calls = record().get(principal, {})
    assert calls, f"the record has no call of the {principal}: its capture is broken"
    return {a: sorted(c) for a, c in needed(calls).items() if not policy.allows(a)}


@pytest.mark.parametrize("principal", sorted(POLICIES))
def test_policy_allows_every_call_its_principal_makes(principal: str) -> None:
    policy = policy_of(principal)
    for deny in policy.limited_denies():
        print(f"{principal}: not judged here: Deny {deny.sid or deny.actions} (limited)")
    assert lacking(policy, principal) == {}, f"{principal}'s policy lacks what its code calls"


def test_the_reapers_old_policy_would_have_failed() -> None:
    """The gap moto let through: the reaper's policy without its CreateTags statement."""
    reaper = policy_of(REAPER)
    old = Policy([s for s in reaper.statements if "ec2:CreateTags" not in s.actions])
    assert len(old.statements) == len(reaper.statements) - 1
    assert lacking(old, REAPER) == {"ec2:createtags": ["ec2.CreateTags"]}


@pytest.mark.parametrize("principal", sorted(POLICIES))
def test_policy_grants_nothing_unused_but_what_is_reviewed(principal: str) -> None:
    granted = policy_of(principal).granted()
    unused = granted - set(needed(record().get(principal, {})))
    print(f"{principal}: granted {len(granted)} actions, unused: {sorted(unused)}")
    assert unused == set(UNUSED[principal])


def test_the_builder_holds_no_credentials_and_only_puts_its_result() -> None:
    calls = record()
    builder = calls.get(BUILDER, {})
    assert list(builder) == ["s3.PutObject"]
    assert flags_of(builder["s3.PutObject"]) == {"presigned"}
    # The URL is the operator's, presigned for that one operation...
    presigned = {
        call for call, modules in calls[OPERATOR].items() if "presigned" in flags_of(modules)
    }
    assert presigned == {"s3.PutObject"}
    # ...and the builder is launched with no instance profile (so it holds no role).
    launches = {
        where: flags
        for where, flags in calls[OPERATOR].get("ec2.RunInstances", {}).items()
        if ".images." in where
    }
    assert launches, "the record has no launch of an image builder"
    assert all("IamInstanceProfile" not in flags for flags in launches.values())


def trusted(document: dict) -> set[str]:
    return {
        str(s["Principal"]["Service"])
        for s in document["Statement"]
        if s["Effect"] == "Allow" and s["Action"] == "sts:AssumeRole"
    }


def test_only_the_intended_service_can_take_each_role() -> None:
    account, pool = template("account.yaml")["Resources"], template("pool.yaml")["Resources"]
    reaper = account["ReaperRole"]["Properties"]["AssumeRolePolicyDocument"]
    seed = pool["SeedRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert trusted(reaper) == {"lambda.amazonaws.com"}
    assert trusted(seed) == {"ec2.amazonaws.com"}
    assert trusted(json.loads(TRUST_POLICY)) == {"ec2.amazonaws.com"}


def test_what_no_instance_policy_gives_a_worker() -> None:
    """A worker whose role also holds an --instance-policy allowing everything still may
    not touch IAM or its instance: every annex role carries the setup's permissions
    boundary, and an action is the role's only if its policies and the boundary both
    allow it (Denies that hold everywhere). S3 writes and other annexes' objects are
    denied by Denies limited to the bucket, not judged here (test_pool_scope.py does)."""
    everything = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    worker = policy_of(WORKER)
    boundary = template_policy("account.yaml", "WorkerBoundary")
    stolen = Policy(worker.statements + Policy.of(everything).statements)
    assert stolen.allows("ec2:DescribeInstances") and boundary.allows("ec2:DescribeInstances")
    for action in ("iam:PassRole", "iam:CreateRole", "ec2:ModifyInstanceMetadataOptions"):
        assert not (stolen.allows(action) and boundary.allows(action)), action
    assert worker.granted() == {"s3:getobject"}
    limited = {d.sid for d in boundary.limited_denies()}
    assert {"NoOtherConfigurationObjects", "NoToolTags"} <= limited


def operator_policy(calls: policyrecord.Calls) -> dict:
    direct: set[str] = set()
    behalf: set[str] = set()
    for principal in OPERATOR_RUNS:
        for call, modules in calls.get(principal, {}).items():
            direct |= actions_for(call, flags_of(modules))
            behalf |= on_behalf(call)

    def statement(sid: str, actions: Iterable[str]) -> dict:
        unique = {a.lower(): a for a in sorted(actions, reverse=True)}
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Action": sorted(unique.values(), key=str.lower),
            "Resource": "*",
        }

    lower = {a.lower() for a in direct}
    return {
        "Version": "2012-10-17",
        "Statement": [
            statement("CallsTheToolMakes", direct),
            statement(
                "CloudFormationDoesForTheToolsStacks",
                (a for a in behalf if a.lower() not in lower),
            ),
        ],
    }


def test_the_operators_policy_is_generated_from_the_record() -> None:
    generated = json.dumps(operator_policy(record()), indent=2) + "\n"
    if UPDATE:
        OPERATOR_POLICY.write_text(generated)
    assert OPERATOR_POLICY.read_text() == generated, (
        "docs/operator-policy.json is out of date: CONDOR_ANNEX_POLICY_RECORD=update "
        "pytest tests/aws/test_policies.py"
    )
    # What the README says: each statement fits one managed policy, both do not.
    doc = json.loads(generated)
    size = [len(json.dumps(s, separators=(",", ":"))) for s in doc["Statement"]]
    count = sum(len(s["Action"]) for s in doc["Statement"])
    print(f"operator policy: {count} actions, statements of {size} characters")
    assert all(n < MANAGED_POLICY_CHARACTERS for n in size)
    assert len(json.dumps(doc, separators=(",", ":"))) > MANAGED_POLICY_CHARACTERS
