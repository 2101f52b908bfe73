"""The whole AWS path as a user types it, against moto's server and a real local pool.

setup, check-setup, an on-demand annex of 50 and a spot annex of 20, status, renew, the
reaper after expiry (--now), off, teardown, and an inventory with nothing left; then the
same with the classic `condor_annex` flags. The pool (real collector, negotiator and
schedd) signs each annex's token; moto's instances never boot, so no worker joins it
(the boot script's own test shows a worker joining).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import classad2
import pytest
from tests.commands import run_command
from tests.condor.conftest import annexes, home, workdir  # noqa: F401 - fixtures

from condor_annex import Annexes
from condor_annex.providers.aws import find_setup
from condor_annex.providers.aws.account.inventory import take_inventory
from condor_annex.providers.aws.annexes.workeridentity import role_name
from condor_annex.providers.aws.reaper import TAG_ANNEX, TAG_LEASE_END

from .annexkeys import home_pool
from .conftest import REGION, lift_tls_policy

pytestmark = pytest.mark.condor


def instances(session: Any, annex: str, states: tuple[str, ...] = ("pending", "running")) -> list:
    pages = (
        session.client("ec2")
        .get_paginator("describe_instances")
        .paginate(
            Filters=[
                {"Name": f"tag:{TAG_ANNEX}", "Values": [annex]},
                {"Name": "instance-state-name", "Values": list(states)},
            ]
        )
    )
    return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]


def lease_tags(session: Any, annex: str) -> set[str]:
    tags = [t for i in instances(session, annex) for t in i["Tags"]]
    return {t["Value"] for t in tags if t["Key"] == TAG_LEASE_END}


def an_image(session: Any) -> str:
    return session.client("ec2").describe_images()["Images"][0]["ImageId"]


class User:
    """Runs `annex` and `condor_annex` against this test's pool home."""

    def __init__(self, state_home: Path) -> None:
        self.env = {"CONDOR_ANNEX_HOME": str(state_home)}

    def annex(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_command("annex", *args, env=self.env)

    def classic(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_command("condor_annex", *args, env=self.env)

    def ok(self, proc: subprocess.CompletedProcess[str]) -> str:
        assert proc.returncode == 0, [*proc.args, proc.stdout, proc.stderr]
        return proc.stdout

    def status(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.ok(self.annex("status", name, "--json")))[0]
        return result


def set_up(user: User, session: Any, tmp_path: Path) -> None:
    config = tmp_path / "user_config"
    user.ok(user.annex("setup", "--provider", "aws", "--config-file", str(config)))
    checked = user.ok(user.annex("check-setup", "--provider", "aws"))
    assert "Checking for configuration bucket... OK." in checked
    assert "Your setup looks OK." in checked
    lift_tls_policy(session, find_setup(session).bucket)


def tear_down_to_nothing(user: User, session: Any) -> None:
    gone = user.annex("teardown", "--provider", "aws", "--yes")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    inventory = take_inventory(session)
    assert inventory.empty, inventory.lines()


def test_whole_path_with_annex(
    annexes: Annexes,  # noqa: F811 - the pool fixture
    home: Path,  # noqa: F811
    session: Any,
    tmp_path: Path,
) -> None:
    user = User(home)
    set_up(user, session, tmp_path)
    image = an_image(session)
    jobs_policy = session.client("iam").create_policy(
        PolicyName="read-inputs",
        PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::inputs/*"}]}',
    )["Policy"]["Arn"]

    created = user.ok(
        user.annex(
            "create", "big", "--provider", "aws", "--count", "50", "--image", image,
            "--instance-type", "m5.large", "--duration", "2h", "--idle", "15m",
            "--tag", "project=e2e", "--instance-policy", jobs_policy, "--yes",
        )
    )  # fmt: skip
    assert "Will request 50 m5.large on-demand instances in us-east-1 for 2 hours" in created
    assert "Started 50 workers in annex 'big'" in created
    user.ok(
        user.annex(
            "create", "spotty", "--provider", "aws", "--count", "20", "--image", image,
            "--spot", "--instance-types", "m5.large,m6i.large,c5.large",
            "--duration", "1h", "--idle", "10m", "--yes",
        )
    )  # fmt: skip
    big = instances(session, "big")
    assert len(big) == 50
    assert {"Key": "project", "Value": "e2e"} in big[0]["Tags"]
    assert len(instances(session, "spotty")) == 20
    # The jobs' extra permissions are on this annex's role only.
    iam = session.client("iam")
    pool = home_pool(home)
    attached = iam.list_attached_role_policies(RoleName=role_name(REGION, pool, "big"))
    assert jobs_policy in {p["PolicyArn"] for p in attached["AttachedPolicies"]}
    attached = iam.list_attached_role_policies(RoleName=role_name(REGION, pool, "spotty"))
    assert jobs_policy not in {p["PolicyArn"] for p in attached["AttachedPolicies"]}

    status = user.status("big")
    assert (status["provider"], status["requested"], status["running"]) == ("aws", 50, 50)
    # moto's instances run at once, but no worker ever joins the pool here: "running"
    # means in the pool, for every provider, so they are booting.
    assert status["states"] == {"booting": 50}
    assert len(status["not_in_pool"]) == 50  # moto's instances never boot HTCondor
    assert status["cost_dollars"] is not None and status["cost_dollars"] >= 0
    assert "on-demand prices as of" in status["cost_note"]
    table = user.ok(user.annex("status"))
    assert "big" in table and "spotty" in table and "cost ~$" in table

    # Renew the on-demand annex to 3 hours: every instance's lease tag moves.
    before = lease_tags(session, "big")
    user.ok(user.annex("renew", "big", "--duration", "3h"))
    after = lease_tags(session, "big")
    assert len(after) == 1 and int(after.pop()) > int(before.pop()) + 3000

    # The reaper, 90 minutes from now: the spot annex (1 h) ends, the renewed one stays.
    later = str(time.time() + 90 * 60)
    user.ok(user.annex("reap", "--provider", "aws", "--now", later))
    assert instances(session, "spotty") == []
    assert len(instances(session, "big")) == 50
    spotty = user.status("spotty")
    assert spotty["running"] == 0 and spotty["gone_reasons"] == {"lease": 20}

    off = user.ok(user.annex("off", "big"))
    assert "Annex 'big' is off: 50 workers gone." in off
    assert instances(session, "big") == []
    assert user.status("big")["running"] == 0

    session.client("iam").delete_policy(PolicyArn=jobs_policy)  # the user's, not the tool's
    tear_down_to_nothing(user, session)


def test_whole_path_with_classic_flags(
    annexes: Annexes,  # noqa: F811 - the pool fixture
    home: Path,  # noqa: F811
    session: Any,
    tmp_path: Path,
) -> None:
    user = User(home)
    access, secret = tmp_path / "access", tmp_path / "secret"
    for path in (access, secret):
        path.write_text("testing\n")
        path.chmod(0o600)
    user.ok(user.classic("-setup", str(access), str(secret), "-aws-region", REGION))
    assert "Your setup looks OK." in user.ok(user.classic("-check-setup", "-aws-region", REGION))
    lift_tls_policy(session, find_setup(session).bucket)

    created = user.ok(
        user.classic(
            "-count", "50", "-duration", "2", "-idle", "0.25", "-annex-name", "Classic",
            "-aws-on-demand-ami-id", an_image(session), "-aws-region", REGION,
            "-aws-access-key-file", str(access), "-aws-secret-key-file", str(secret),
            "-tag", "project", "classic", "-yes",
        )
    )  # fmt: skip
    assert "Will request 50 m4.large on-demand instances" in created  # the classic default
    assert "after being idle for 0.25 hours" in created
    found = instances(session, "Classic")
    assert len(found) == 50 and {"Key": "project", "Value": "classic"} in found[0]["Tags"]

    # -status -classad prints ClassAds, as the manual says (one per annex).
    listed = classad2.parseAds(user.ok(user.classic("-status", "-classad")))
    assert [(ad["AnnexName"], ad["Running"]) for ad in listed] == [("Classic", 50)]

    before = int(lease_tags(session, "Classic").pop())
    user.ok(user.classic("-annex-name", "Classic", "-duration", "4"))
    assert int(lease_tags(session, "Classic").pop()) > before + 7000

    user.ok(user.annex("reap", "--provider", "aws", "--now", str(time.time() + 5 * 3600)))
    assert instances(session, "Classic") == []
    assert user.status("Classic")["gone_reasons"] == {"lease": 50}

    tear_down_to_nothing(user, session)
