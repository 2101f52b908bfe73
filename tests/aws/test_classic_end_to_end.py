"""Every form and option of HTCondor's condor_annex manual page, typed as a classic user
types them, against moto's server and a real local pool (its collector, negotiator and
schedd sign each annex's token; moto's instances never boot, so none joins: the boot
script's own tests show what a worker does with what is checked here).

The seed's first annex comes first: `condor_annex -setup`, then
`condor_annex -count 10 -duration 24 -annex-name MyFirstAnnex` with no image flag, which
boots the region's Amazon Linux 2023 (AWS's public SSM parameter, as moto ships it) and
installs HTCondor at boot. Then on-demand and spot fleet annexes with every option, the
three status views, renewal, the endpoint overrides (proved by making the environment's
own endpoints for those services unreachable), -setup FROM INSTANCE, and teardown to
nothing.
"""

from __future__ import annotations

import base64
import email
import json
import os
import subprocess
from http.server import ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import classad2
import pytest
from tests.commands import run_command
from tests.condor.conftest import annexes, home, workdir  # noqa: F401 - fixtures

from condor_annex import Annexes
from condor_annex.providers.aws import find_setup
from condor_annex.providers.aws.account.condorconfig import read_region_settings
from condor_annex.providers.aws.account.inventory import take_inventory
from condor_annex.providers.aws.annexes.stockimage import PARAMETER
from condor_annex.providers.aws.annexes.userdata import BOOT_PART_NAME, unpack
from condor_annex.providers.aws.reaper import TAG_ANNEX, TAG_LEASE_END

from .annexkeys import home_prefix
from .conftest import REGION, lift_tls_policy
from .test_annex_end_to_end import instances
from .test_classic_session import RoleImds

pytestmark = pytest.mark.condor

REAL_CACHE = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
DEAD = "http://127.0.0.1:9"  # nothing listens: only an override can reach moto
HELLO = "#!/bin/sh\necho hello > /tmp/hello\n"


class Classic:
    """Runs `condor_annex` (and `annex`) against this test's pool, with a HOME of its own."""

    def __init__(self, state_home: Path, user_home: Path) -> None:
        user_home.mkdir(exist_ok=True)
        self.env = {
            "CONDOR_ANNEX_HOME": str(state_home),
            "HOME": str(user_home),
            "XDG_CACHE_HOME": REAL_CACHE,  # the shared HTCondor runtime
        }

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_command("condor_annex", *args, env={**self.env, **(env or {})})

    def ok(self, *args: str, env: dict[str, str] | None = None) -> str:
        proc = self.run(*args, env=env)
        assert proc.returncode == 0, [args, proc.stdout, proc.stderr]
        return proc.stdout

    def annex(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_command("annex", *args, env=self.env)


def user_data(session: Any, instance_id: str) -> str:
    raw = session.client("ec2").describe_instance_attribute(
        InstanceId=instance_id, Attribute="userData"
    )["UserData"]["Value"]
    return unpack(base64.b64decode(raw))


def parts(text: str) -> list[tuple[str | None, str]]:
    message = email.message_from_string(text)
    return [
        (p.get_filename(), p.get_payload(decode=True).decode())
        for p in message.walk()
        if not p.is_multipart()
    ]


def bucket_text(session: Any, bucket: str, key: str) -> str:
    return session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def test_every_form_and_option_of_the_manual_page(
    annexes: Annexes,  # noqa: F811 - the pool fixture
    home: Path,  # noqa: F811
    session: Any,
    aws_env: str,
    tmp_path: Path,
) -> None:
    user = Classic(home, tmp_path / "user")
    assert "-aws-spot-fleet-config-file" in user.ok("-help")

    # -- the seed's first annex: setup, then an annex with no image flag ----------------
    access, secret = tmp_path / "access", tmp_path / "secret"
    for path in (access, secret):
        path.write_text("testing\n")
        path.chmod(0o600)
    setup = user.ok("-aws-region", REGION, "-setup", str(access), str(secret))
    assert "Setup successful." in setup
    config = tmp_path / "user" / ".condor" / "user_config"
    bucket = find_setup(session).bucket
    assert read_region_settings(config, REGION)["ANNEX_DEFAULT_S3_BUCKET"] == bucket
    lift_tls_policy(session, bucket)

    first = user.ok("-count", "10", "-duration", "24", "-annex-name", "MyFirstAnnex", "-yes")
    assert "Will request 10 m4.large on-demand instances in us-east-1 for 24 hours." in first
    al2023 = session.client("ssm").get_parameter(Name=PARAMETER.format(arch="x86_64"))
    image = al2023["Parameter"]["Value"]
    assert f"Amazon Linux 2023 ({image}) and install HTCondor at boot" in first
    assert "annex image build --role worker" in first
    assert "Only jobs of root will run on it" in first
    assert "Started 10 workers in annex 'MyFirstAnnex'" in first
    found = instances(session, "MyFirstAnnex")
    assert len(found) == 10 and {i["ImageId"] for i in found} == {image}
    assert "ANNEX_INSTALL_HTCONDOR=1" in user_data(session, found[0]["InstanceId"])
    prefix = home_prefix(home, "MyFirstAnnex")
    worker = bucket_text(session, bucket, prefix + "worker.config")
    assert 'START = stringListMember(TARGET.Owner, "root")' in worker
    assert bucket_text(session, bucket, prefix + "install/install-worker.sh").startswith("#!")

    # Renew: -annex-name and -duration alone.
    before = {t["Value"] for i in found for t in i["Tags"] if t["Key"] == TAG_LEASE_END}
    assert "renewed for 48 hours (10 workers)" in user.ok(
        "-annex-name", "MyFirstAnnex", "-duration", "48"
    )
    after = {t["Value"] for i in instances(session, "MyFirstAnnex") for t in i["Tags"]
             if t["Key"] == TAG_LEASE_END}  # fmt: skip
    assert len(after) == 1 and int(after.pop()) > int(before.pop()) + 23 * 3600

    # The status views: a table, ClassAds, and condor_status plus the missing instances.
    assert "MyFirstAnnex" in user.ok("-status")
    (ad,) = classad2.parseAds(user.ok("-annex-name", "MyFirstAnnex", "-status", "-classads"))
    assert ad["AnnexName"] == "MyFirstAnnex" and ad["Provider"] == "aws"
    assert ad["Requested"] == 10 and len(list(ad["NotInPool"])) == 10
    view = user.ok("-annex-name", "MyFirstAnnex", "status", "-compact")
    table = view.split("Instances not in the pool:\n", 1)[1].splitlines()
    assert table[0].split() == ["INSTANCE", "ANNEX", "STATE", "ADDRESS"]
    assert {row.split()[0] for row in table[1:]} == {i["InstanceId"] for i in found}

    # -- on-demand, with every -aws-on-demand-* and common option ---------------------
    ec2 = session.client("ec2")
    ec2.create_key_pair(KeyName="mine")
    (group,) = ec2.describe_security_groups(GroupIds=[find_setup(session).security_group_id])[
        "SecurityGroups"
    ]
    ssh = ec2.create_security_group(GroupName="ssh", Description="x", VpcId=group["VpcId"])
    config_dir = tmp_path / "config.d"
    config_dir.mkdir()
    (config_dir / "50-site.config").write_text("SITE_KNOB = 7\n")
    hello = tmp_path / "hello.sh"
    hello.write_text(HELLO)
    baked = ec2.describe_images(Filters=[{"Name": "architecture", "Values": ["x86_64"]}])["Images"][
        0
    ]["ImageId"]
    made = user.ok(
        "-aws-on-demand", "-annex-name", "od", "-count", "3", "-duration", "2", "-idle", "0.5",
        "-aws-on-demand-instance-type", "m5.large", "-aws-on-demand-ami-id", baked,
        "-aws-on-demand-security-group-ids", ssh["GroupId"], "-aws-on-demand-key-name", "mine",
        "-aws-user-data-file", str(hello), "-config-dir", str(config_dir),
        "-tag", "project", "cms", "-tag", "site", "uw", "-owner", "alice,bob",
        "-aws-region", REGION, "-aws-access-key-file", str(access),
        "-aws-secret-key-file", str(secret),
        "-aws-on-demand-lease-function-arn", "arn:aws:lambda:us-east-1:1:function:old",
        "-aws-on-demand-instance-profile-arn", "arn:aws:iam::1:instance-profile/old",
        "-yes",
    )  # fmt: skip
    assert "Will request 3 m5.large on-demand instances" in made
    assert "idle for 0.5 hours" in made
    assert "Note: -aws-on-demand-lease-function-arn is ignored here: leases are" in made
    assert "Note: -aws-on-demand-instance-profile-arn is ignored here: each annex" in made
    od = instances(session, "od")
    assert len(od) == 3
    tags = {t["Key"]: t["Value"] for t in od[0]["Tags"]}
    assert tags["project"] == "cms" and tags["site"] == "uw"
    assert od[0]["ImageId"] == baked and od[0]["KeyName"] == "mine"
    assert {g["GroupId"] for g in od[0]["SecurityGroups"]} == {group["GroupId"], ssh["GroupId"]}
    sent = parts(user_data(session, od[0]["InstanceId"]))
    assert [name for name, _ in sent] == [BOOT_PART_NAME, "50-user-data-1"]
    assert sent[1][1] == HELLO and "ANNEX_EXTRA_CONFIG=1" in sent[0][1]
    site = bucket_text(session, bucket, home_prefix(home, "od") + "config.d/50-site.config")
    assert site == "SITE_KNOB = 7\n"
    od_worker = bucket_text(session, bucket, home_prefix(home, "od") + "worker.config")
    assert 'START = stringListMember(TARGET.Owner, "alice,bob")' in od_worker

    # -- a spot fleet from the classic JSON config ----------------------------------
    fleet = tmp_path / "fleet.json"
    fleet.write_text(json.dumps({
        "IamFleetRole": "arn:aws:iam::123456789012:role/aws-ec2-spot-fleet-tagging-role",
        "AllocationStrategy": "diversified",
        "SpotPrice": "0.2",
        "TargetCapacity": 99,
        "Type": "request",
        "LaunchSpecifications": [
            {"InstanceType": "m5.large", "WeightedCapacity": 1, "ImageId": baked},
            {"InstanceType": "m5.xlarge", "WeightedCapacity": 2, "ImageId": baked,
             "SpotPrice": "0.35"},
        ],
    }))  # fmt: skip
    spot = user.ok(
        "-aws-spot-fleet", "-annex-name", "sf", "-slots", "6",
        "-aws-spot-fleet-config-file", str(fleet), "-aws-default-user-data", HELLO,
        "-aws-spot-fleet-lease-function-arn", "arn:aws:lambda:us-east-1:1:function:old",
        "-no-owner", "-duration", "1", "-yes",
    )  # fmt: skip
    assert "Will request 6 spot slots (m5.large (weight 1), m5.xlarge (weight 2))" in spot
    assert "Note: spot fleet config: TargetCapacity is ignored: -slots is the capacity" in spot
    assert "Only jobs of" not in spot
    sf = instances(session, "sf")
    assert sum(1 if i["InstanceType"] == "m5.large" else 2 for i in sf) == 6  # by weight
    (described,) = [
        f
        for f in ec2.describe_fleets()["Fleets"]
        if {"Key": TAG_ANNEX, "Value": "sf"} in f.get("Tags", [])
    ]
    assert described["TargetCapacitySpecification"]["TotalTargetCapacity"] == 6
    assert described["SpotOptions"]["AllocationStrategy"] == "diversified"
    overrides = described["LaunchTemplateConfigs"][0]["Overrides"]
    assert [(o["InstanceType"], o["MaxPrice"]) for o in overrides] == [
        ("m5.large", "0.2"),
        ("m5.xlarge", "0.35"),
    ]
    assert "START = True" in bucket_text(session, bucket, home_prefix(home, "sf") + "worker.config")

    # The two other user data flags, and an inline -aws-user-data.
    default_file = tmp_path / "default.cfg"
    default_file.write_text("#cloud-config\npackages: [htop]\n")
    for name, flags in (
        ("udf", ["-aws-default-user-data-file", str(default_file)]),
        ("ud", ["-aws-user-data", HELLO]),
    ):
        user.ok("-annex-name", name, "-count", "1", "-aws-on-demand-ami-id", baked, *flags, "-yes")
        (instance,) = instances(session, name)
        assert parts(user_data(session, instance["InstanceId"]))[1][1] in (
            HELLO,
            default_file.read_text(),
        )

    # -- expert and developer options --------------------------------------------------
    urls = [
        "-aws-ec2-url", aws_env, "-aws-s3-url", aws_env,
        "-aws-lambda-url", aws_env, "-aws-events-url", aws_env,
    ]  # fmt: skip
    dead = {f"AWS_ENDPOINT_URL_{s}": DEAD for s in ("EC2", "S3", "LAMBDA", "EVENTS")}
    # (check-setup reports the TLS-only bucket policy the test lifted, so it exits 1.)
    plain = user.run("-check-setup")
    routed = user.run("-check-setup", *urls, env=dead)
    assert (routed.returncode, routed.stdout) == (plain.returncode, plain.stdout)
    assert "Checking for lease reaper function... OK." in routed.stdout
    unreachable = user.run("-check-setup", env=dead)
    assert (unreachable.returncode, unreachable.stdout) != (plain.returncode, plain.stdout)
    assert "Traceback" not in unreachable.stderr and len(unreachable.stderr.splitlines()) <= 1
    user.ok("-annex-name", "urls", "-count", "1", "-aws-on-demand-ami-id", baked, *urls,
            "-yes", env=dead)  # fmt: skip
    assert len(instances(session, "urls")) == 1

    server = ThreadingHTTPServer(("127.0.0.1", 0), RoleImds)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        imds = {
            "AWS_EC2_METADATA_DISABLED": "false",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}",
        }
        assert "Setup successful." in user.ok("-setup", "FROM", "INSTANCE", env=imds)
    finally:
        server.shutdown()
        server.server_close()

    # -- teardown to nothing --------------------------------------------------------------
    gone = user.annex("teardown", "--provider", "aws", "--yes")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    inventory = take_inventory(session)
    assert inventory.empty, inventory.lines()
