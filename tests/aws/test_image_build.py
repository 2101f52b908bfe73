"""`annex image build` against moto: the builder is launched for real (moto's EC2), and a
thread plays the builder instance. It finds the builder by its build tag, reads the
user data EC2 holds for it (gzip, as cloud-init would unpack it), takes the presigned
result URL from it and PUTs the result there exactly as image-build.sh does. So the
signal path is the real one; only the install itself does not run (see
bench/worker_install_debian13.py for that, in a fresh Debian 13 root).

After every path the inventory is taken: no builder left, no image but a successful
one, no stray snapshot, no result object; and teardown removes the successful image.

Where moto differs from AWS: images are `available` at once (never pending or failed).
wait_available's state handling is tested with botocore's Stubber; the half-made-image
clean-up test makes DescribeImages report `failed` for the build's image through
botocore's event hooks, on top of moto's real answer, so that the image and snapshot
being cleaned up really exist.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import shlex
import shutil
import subprocess
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

import condor_annex
from condor_annex.cli.main import cli
from condor_annex.cli.runner import run
from condor_annex.errors import AnnexError
from condor_annex.providers.aws import SetupRecord, teardown
from condor_annex.providers.aws.account.inventory import take_inventory
from condor_annex.providers.aws.images import amis
from condor_annex.providers.aws.images.bake import (
    TAG_BUILT,
    TAG_HTCONDOR_VERSION,
    TAG_IMAGE_BUILD,
    TAG_IMAGE_ROLE,
    TAG_TOOL_VERSION,
    ImageRequest,
    SecretsFound,
    build_image,
)
from condor_annex.providers.aws.images.imagescript import (
    COMMON,
    ROLE_SCRIPTS,
    WRAPPER,
    builder_script,
    builder_user_data,
    script_text,
)
from condor_annex.providers.aws.images.imagesignal import (
    BuildResult,
    presigned_put_url,
    read_result,
    result_key,
)
from condor_annex.providers.aws.reaper import TAG_MANAGED
from condor_annex.waiting import wait_for

from .conftest import REGION

TEMPLATES = Path(str(resources.files("condor_annex.providers.aws") / "templates"))
IMAGE_KINDS = ("instance", "image", "snapshot")
POLL = 0.05


_stock_image: list[str] = []


def base_image(session: Any) -> str:
    """One of moto's stock Linux x86_64 images (the same after every reset; listing them
    takes over a second, so once per session)."""
    if not _stock_image:
        images = session.client("ec2").describe_images(
            Filters=[{"Name": "architecture", "Values": ["x86_64"]}]
        )["Images"]
        _stock_image.append(next(i["ImageId"] for i in images if "Platform" not in i))
    return _stock_image[0]


def left(session: Any) -> dict[str, set[str]]:
    inventory = take_inventory(session, IMAGE_KINDS)
    return {kind: {r.id for r in inventory.of(kind)} for kind in IMAGE_KINDS}


def snapshots_exist(session: Any, ids: Any) -> bool:
    """By id: moto's stock images have snapshots of this account too."""
    try:
        return bool(session.client("ec2").describe_snapshots(SnapshotIds=list(ids))["Snapshots"])
    except ClientError as err:
        assert err.response["Error"]["Code"] == "InvalidSnapshot.NotFound"
        return False


def objects(session: Any, record: SetupRecord) -> list[str]:
    reply = session.client("s3").list_objects_v2(Bucket=record.bucket, Prefix="images/")
    return [o["Key"] for o in reply.get("Contents", [])]


def script_value(script: str, name: str) -> str:
    match = re.search(rf"^(?:export )?{name}=(.*)$", script, re.M)
    assert match, name
    return shlex.split(match.group(1))[0]


class FakeBuilder(threading.Thread):
    """Plays the builder: waits for it, reads its user data, reports `result` (None:
    never reports)."""

    def __init__(self, session: Any, result: dict[str, Any] | None) -> None:
        super().__init__(daemon=True)
        self.ec2 = session.client("ec2")
        self.result = result
        self.script = ""
        self.error: BaseException | None = None

    def builder(self) -> str:
        reply = self.ec2.describe_instances(
            Filters=[
                {"Name": "tag-key", "Values": [TAG_IMAGE_BUILD]},
                {"Name": "instance-state-name", "Values": ["pending", "running"]},
            ]
        )
        ids = [i["InstanceId"] for r in reply["Reservations"] for i in r["Instances"]]
        return ids[0] if ids else ""

    def run(self) -> None:
        try:
            wait_for(lambda: bool(self.builder()), 30, "the builder instance", 0.02)
            raw = self.ec2.describe_instance_attribute(
                InstanceId=self.builder(), Attribute="userData"
            )["UserData"]["Value"]
            self.script = gzip.decompress(base64.b64decode(raw)).decode()
            if self.result is None:
                return
            body = {
                "build_id": script_value(self.script, "BUILD_ID"),
                "role": script_value(self.script, "ROLE"),
                **self.result,
            }
            request = urllib.request.Request(  # noqa: S310 - moto's URL, from the user data
                script_value(self.script, "RESULT_URL"),
                data=json.dumps(body).encode(),
                method="PUT",
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310
                assert reply.status == 200
        except BaseException as err:  # reported by the test
            self.error = err


@pytest.fixture
def builder_reports(session: Any) -> Iterator[Any]:
    started: list[FakeBuilder] = []

    def start(result: dict[str, Any] | None) -> FakeBuilder:
        fake = FakeBuilder(session, result)
        fake.start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.join(timeout=30)
        assert fake.error is None, repr(fake.error)


SUCCESS = {
    "status": "success",
    "reason": "",
    "htcondor_version": "24.0.3",
    "htcondor_source": "official",
    "secret_scan": [],
    "log_tail": ["condor-annex-image: the secret scan found nothing"],
}


def test_build_makes_a_tagged_image_and_teardown_removes_it(
    session: Any, objects_allowed: SetupRecord, said: list[str], builder_reports: Any
) -> None:
    fake = builder_reports(SUCCESS)
    request = ImageRequest("worker", base_image(session), name="my-workers", extras=("docker",))
    built = build_image(session, request, said.append, poll=POLL)
    fake.join(timeout=30)

    ec2 = session.client("ec2")
    image = ec2.describe_images(ImageIds=[built.image_id])["Images"][0]
    tags = {t["Key"]: t["Value"] for t in image["Tags"]}
    assert image["Name"] == "my-workers"
    assert tags[TAG_MANAGED] == "true"
    assert tags[TAG_IMAGE_ROLE] == "worker"
    assert tags[TAG_TOOL_VERSION] == condor_annex.__version__
    assert tags[TAG_HTCONDOR_VERSION] == "24.0.3"
    assert tags[TAG_IMAGE_BUILD] == built.build_id
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", tags[TAG_BUILT])
    assert built.snapshot_ids
    for snapshot in ec2.describe_snapshots(SnapshotIds=list(built.snapshot_ids))["Snapshots"]:
        assert {t["Key"]: t["Value"] for t in snapshot["Tags"]} == tags

    # The builder ran the worker script with the extras, and was launched as asked.
    assert 'cat >"$WORK/install-worker.sh"' in fake.script
    assert 'cat >"$WORK/install-seed.sh"' not in fake.script
    assert script_value(fake.script, "EXTRAS") == "docker"
    builder = ec2.describe_instances(
        Filters=[{"Name": f"tag:{TAG_IMAGE_BUILD}", "Values": [built.build_id]}]
    )["Reservations"][0]["Instances"][0]
    assert builder["State"]["Name"] == "terminated"
    assert builder["MetadataOptions"]["HttpTokens"] == "required"
    assert "IamInstanceProfile" not in builder  # no role: the builder holds no credentials
    # Its own outbound-only group, not the workers' (which pools admit to their collector).
    groups = [g["GroupId"] for g in builder["SecurityGroups"]]
    assert groups == [objects_allowed.builder_security_group_id]

    assert left(session) == {
        "instance": set(),
        "image": {built.image_id},
        "snapshot": set(built.snapshot_ids),
    }
    assert objects(session, objects_allowed) == []
    assert said[-1] == f"Built worker image {built.image_id} (my-workers)."

    assert teardown(session, said.append, poll=0.01).empty
    assert ec2.describe_images(Owners=["self"])["Images"] == []
    assert not snapshots_exist(session, built.snapshot_ids)


NOTHING_LEFT = {"instance": set(), "image": set(), "snapshot": set()}


def test_a_failure_report_leaves_nothing(
    session: Any, objects_allowed: SetupRecord, said: list[str], builder_reports: Any
) -> None:
    builder_reports(
        {
            **SUCCESS,
            "status": "failure",
            "reason": "installing the worker role failed (exit 1)",
            "log_tail": ["condor-annex-image: ERROR: cannot install curl"],
        }
    )
    with pytest.raises(AnnexError, match=r"the builder failed: installing the worker role"):
        build_image(session, ImageRequest("worker", base_image(session)), said.append, poll=POLL)
    assert "  builder: condor-annex-image: ERROR: cannot install curl" in said
    assert left(session) == NOTHING_LEFT
    assert objects(session, objects_allowed) == []


def test_a_silent_builder_times_out_and_leaves_nothing(
    session: Any, objects_allowed: SetupRecord, said: list[str]
) -> None:
    request = ImageRequest("seed", base_image(session), timeout=0.5)
    with pytest.raises(AnnexError, match=r"did not report within"):
        build_image(session, request, said.append, poll=POLL)
    assert left(session) == NOTHING_LEFT
    assert any(line.startswith("Builder i-") and "terminated" in line for line in said)


def test_secrets_found_means_no_image(
    session: Any, objects_allowed: SetupRecord, said: list[str], builder_reports: Any
) -> None:
    create_image_calls: list[str] = []
    session.events.register(
        "before-call.ec2.CreateImage", lambda **kw: create_image_calls.append("called")
    )
    builder_reports({**SUCCESS, "secret_scan": ["/root/.aws/credentials: AWS credentials file"]})
    with pytest.raises(SecretsFound, match=r"refusing .* found 1 item\(s\): /root/.aws/cred"):
        build_image(session, ImageRequest("worker", base_image(session)), said.append, poll=POLL)
    assert create_image_calls == []
    assert left(session) == NOTHING_LEFT
    assert objects(session, objects_allowed) == []


def test_a_failed_image_is_deregistered_with_its_snapshot(
    session: Any, objects_allowed: SetupRecord, said: list[str], builder_reports: Any
) -> None:
    """moto's images are available at once; here DescribeImages says the build's image
    failed (AWS: StateReason), so the half-made image and its snapshot must go."""

    def image_failed(parsed: dict[str, Any], **_: Any) -> None:
        for image in parsed.get("Images", []):
            if any(t["Key"] == TAG_IMAGE_BUILD for t in image.get("Tags", [])):
                image["State"] = "failed"
                image["StateReason"] = {"Code": "Server.InternalError", "Message": "boom"}

    session.events.register("after-call.ec2.DescribeImages", image_failed)
    builder_reports(SUCCESS)
    with pytest.raises(AnnexError, match=r"image ami-\w+ is failed: boom"):
        build_image(session, ImageRequest("worker", base_image(session)), said.append, poll=POLL)
    assert any(line.startswith("Image ami-") and "deregistered" in line for line in said)
    deleted = [line.split()[1] for line in said if re.match(r"^Snapshot snap-\w+ deleted", line)]
    assert len(deleted) == 1
    assert not snapshots_exist(session, deleted)
    assert left(session) == NOTHING_LEFT
    made_by_builds = session.client("ec2").describe_snapshots(
        OwnerIds=["self"], Filters=[{"Name": "description", "Values": ["Created by CreateImage*"]}]
    )["Snapshots"]
    assert made_by_builds == []


def test_ctrl_c_while_waiting_leaves_nothing(
    session: Any, objects_allowed: SetupRecord, said: list[str]
) -> None:
    interrupted: list[float] = []

    def sleep(seconds: float) -> None:
        if not interrupted:
            interrupted.append(seconds)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_image(session, ImageRequest("worker", base_image(session)), said.append, sleep=sleep)
    assert interrupted
    assert left(session) == NOTHING_LEFT


def test_wait_available_follows_pending_to_available_and_tags_snapshots(
    session: Any,
) -> None:
    """The states moto never shows, with Stubber."""
    ec2 = session.client("ec2")
    tags = {TAG_MANAGED: "true", TAG_IMAGE_ROLE: "seed"}
    mapping = [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": "snap-0123456789abcdef0"}}]
    with Stubber(ec2) as stub:
        image = {"ImageId": "ami-0123456789abcdef0"}
        stub.add_response("describe_images", {"Images": [{**image, "State": "pending"}]})
        stub.add_response(
            "describe_images",
            {"Images": [{**image, "State": "pending", "BlockDeviceMappings": mapping}]},
        )
        stub.add_response(
            "create_tags",
            {},
            {"Resources": ["snap-0123456789abcdef0"], "Tags": amis.tag_list(tags)},
        )
        stub.add_response(
            "describe_images",
            {"Images": [{**image, "State": "available", "BlockDeviceMappings": mapping}]},
        )
        snapshots = amis.wait_available(
            ec2, image["ImageId"], tags, 10, 0, lambda _m: None, lambda _s: None
        )
        stub.assert_no_pending_responses()
    assert snapshots == ["snap-0123456789abcdef0"]

    with Stubber(ec2) as stub:
        stub.add_response("describe_images", {"Images": [{**image, "State": "pending"}]})
        with pytest.raises(AnnexError, match="not available within"):
            amis.wait_available(ec2, image["ImageId"], tags, 0, 0, lambda _m: None)


# -- the user data and the scripts ---------------------------------------------------------
SECRET_KEY = "wJalrXUtnFEMI-not-a-real-secret-key-EXAMPLE"


def rendered(session: Any, bucket: str, role: str = "worker") -> tuple[str, bytes, str]:
    url = presigned_put_url(session, bucket, result_key("worker-1-abc"), 1800 + 600)
    script = builder_script("worker-1-abc", role, ("docker", "git"), url, "24.0", 120)
    return script, builder_user_data(script), url


def test_user_data_fits_and_holds_no_secret(
    monkeypatch: pytest.MonkeyPatch, aws_env: str, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    from condor_annex.providers.aws import aws_session

    session = aws_session(REGION)
    script, data, url = rendered(session, "condor-annex-123456789012-us-east-1")
    assert len(data) <= 16 * 1024
    assert gzip.decompress(data).decode() == script
    assert SECRET_KEY not in script
    for looks_secret in (
        r"aws_secret_access_key\s*[=:]\s*\S",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
        r"eyJ[A-Za-z0-9_-]{8,}\.eyJ",  # a JWT (an HTCondor token)
    ):
        assert not re.search(looks_secret, script), looks_secret
    # The URL: one PUT of the build's result object, SigV4, bounded in time.
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    assert parts.path.endswith("/images/worker-1-abc/result")
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert int(query["X-Amz-Expires"][0]) == 2400
    assert script_value(script, "RESULT_URL") == url
    # The embedded scripts are the packaged files, byte for byte.
    for name in (COMMON, ROLE_SCRIPTS["worker"]):
        body = script.split(f"cat >\"$WORK/{name}\" <<'CONDOR_ANNEX_EOF'\n", 1)[1]
        assert body.split("CONDOR_ANNEX_EOF\n", 1)[0] == script_text(name)
    path = tmp_path / "user-data.sh"
    path.write_text(script)
    assert subprocess.run(["bash", "-n", str(path)], check=False).returncode == 0


def shell_function(script: str, name: str) -> str:
    match = re.search(rf"^{name}\(\) \{{[^\n]*\n.*?^\}}\n", script, re.M | re.S)
    assert match, name
    return match.group(0)


def test_the_builders_report_is_what_annex_reads(
    session: Any, objects_allowed: SetupRecord, tmp_path: Path
) -> None:
    """image-build.sh's own JSON writer and PUT (bash, curl) against the presigned URL,
    read back as `annex` reads it: awkward characters survive, nothing is lost."""
    bucket, key = objects_allowed.bucket, result_key("worker-1-abc")
    script, _, url = rendered(session, bucket)
    work = tmp_path / "work"
    work.mkdir()
    findings = ['/etc/x "quoted": private key', "/root/back\\slash: AWS access key id"]
    (work / "findings").write_text("".join(f"{line}\n" for line in findings))
    (work / "build.log").write_text("".join(f"line {n}\ttabbed\n" for n in range(30)))
    driver = "\n".join(
        [
            "set -eu",
            f"BUILD_ID=worker-1-abc ROLE=worker WORK={shlex.quote(str(work))}",
            f"RESULT_URL={shlex.quote(url)}",
            'say() { echo "$*"; }',
            'log() { echo "$*"; }',
            "htcondor_version() { echo 24.0.3; }",
            *(shell_function(script, f) for f in ("json_string", "json_lines", "report")),
            'report success ""',
            'report failure "a second report is never sent"',
        ]
    )
    proc = subprocess.run(["bash", "-c", driver], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert url not in proc.stdout + proc.stderr  # the URL is never printed
    raw = read_result(session.client("s3"), bucket, key)
    assert raw is not None
    result = BuildResult.parse(raw, "worker-1-abc")
    assert result.succeeded and result.htcondor_version == "24.0.3"
    assert result.findings == tuple(findings)
    assert result.log_tail == tuple(f"line {n} tabbed" for n in range(10, 30))


def test_scripts_pass_shellcheck(aws_env: str, tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:  # scripts/bootstrap --test installs it
        pytest.skip("shellcheck is not installed")
    url = "https://b.s3.us-east-1.amazonaws.com/images/x/result?X-Amz-Signature=0"
    user_data = []
    for role in ROLE_SCRIPTS:  # the wrapper, rendered for each role
        path = tmp_path / f"{role}-user-data.sh"
        path.write_text(builder_script("x", role, (), url, "24.0", 60))
        user_data.append(str(path))
    proc = subprocess.run(
        [shellcheck, "-x", "-P", str(TEMPLATES), COMMON, *ROLE_SCRIPTS.values(), *user_data],
        cwd=TEMPLATES,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert WRAPPER not in (COMMON, *ROLE_SCRIPTS.values())


# -- bad input -------------------------------------------------------------------------
def annex(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = run(cli, "annex", ["image", "build", *args])
    return code, capsys.readouterr().err


BAD_INPUT = [
    (["--role", "master"], "'master' is not one of"),
    (["--role", "worker", "--extra", "docker,emacs"], "extra 'emacs' is not one of"),
    (["--role", "worker", "--name", "x*y"], "image name 'x*y' is not allowed"),
    (["--role", "worker", "--timeout", "0"], "--timeout '0' is too short"),
    (["--role", "seed", "--region", "us-west-2"], "not set up in us-west-2"),
]


def test_bad_input_is_one_line_and_makes_nothing(
    session: Any, objects_allowed: SetupRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    for args, needle in BAD_INPUT:
        code, err = annex(capsys, "--base-image", base_image(session), "--yes", *args)
        assert code == 2, (args, err)
        assert len(err.strip().splitlines()) == 1, err
        assert needle in err, (needle, err)
    assert left(session) == NOTHING_LEFT
    assert objects(session, objects_allowed) == []


def test_unknown_base_image_and_taken_name_are_refused(
    session: Any, objects_allowed: SetupRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = annex(capsys, "--role", "worker", "--base-image", "ami-0000000000000000f")
    assert (code, len(err.strip().splitlines())) == (2, 1)
    assert "image ami-0000000000000000f does not exist in this region" in err

    ec2 = session.client("ec2")
    instance = ec2.run_instances(ImageId=base_image(session), MinCount=1, MaxCount=1)
    instance_id = instance["Instances"][0]["InstanceId"]
    ec2.create_image(InstanceId=instance_id, Name="taken-name")
    ec2.terminate_instances(InstanceIds=[instance_id])
    code, err = annex(
        capsys, "--role", "worker", "--base-image", base_image(session), "--name", "taken-name"
    )
    assert (code, len(err.strip().splitlines())) == (2, 1)
    assert "an image named 'taken-name' already exists" in err
    assert left(session)["instance"] == set()
