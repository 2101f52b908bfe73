"""What the classic flags add to a launch, against moto's server: a key pair, security
groups next to the setup's, user data next to the boot script, -config-dir files in the
annex's bundle, a spot fleet config's weights and prices, and the region's Amazon Linux
2023 when no image is configured. Each is checked in the request EC2 got (botocore's
own event hooks on the real clients) and in what moto holds; bad choices are one-line
errors before anything is made.

moto ships AWS's public Amazon Linux parameters and their images, so the SSM lookup is
moto's real answer; a missing parameter is shown with botocore's Stubber (moto has one
for every region it knows). moto does not apply a launch template's key pair or groups
to fleet instances, so for fleets the template version the fleet used is checked.
"""

from __future__ import annotations

import base64
import email
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from condor_annex.errors import UsageError
from condor_annex.model import AnnexRequest
from condor_annex.providers.aws import AwsProvider, SetupRecord
from condor_annex.providers.aws.annexes.configdir import ConfigFile
from condor_annex.providers.aws.annexes.options import AwsOptions, aws_provider
from condor_annex.providers.aws.annexes.stockimage import PARAMETER, stock_images
from condor_annex.providers.aws.annexes.userdata import BOOT_PART_NAME, unpack, user_parts
from condor_annex.providers.aws.reaper import TAG_ANNEX

from .annexkeys import POOL, prefix
from .test_provider import Calls, annex, bundle, obj, tagged, tags_of

REGION = "us-east-1"
HELLO = "#!/bin/sh\necho hello from the user > /tmp/hello\n"


def request(name: str, count: int) -> AnnexRequest:
    return AnnexRequest(name, count, 3600, 600)


def launch(p: AwsProvider, name: str, count: int) -> tuple[Any, list[Any]]:
    """prepare, describe and run, as Annexes.create does."""
    p.prepare(request(name, count))
    p.describe(request(name, count))
    record = annex(name, count)
    return record, p.run_instances(record, bundle(record), count)


def an_image(session: Any) -> str:
    return session.client("ec2").describe_images()["Images"][0]["ImageId"]


def other_vpc_group(session: Any) -> str:
    ec2 = session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    return ec2.create_security_group(GroupName="elsewhere", Description="x", VpcId=vpc)["GroupId"]


def home_group(session: Any, setup: SetupRecord) -> str:
    ec2 = session.client("ec2")
    (group,) = ec2.describe_security_groups(GroupIds=[setup.security_group_id])["SecurityGroups"]
    return ec2.create_security_group(
        GroupName="ssh-from-office", Description="x", VpcId=group["VpcId"]
    )["GroupId"]


def test_on_demand_key_groups_user_data_and_config_dir(
    session: Any, objects_allowed: SetupRecord
) -> None:
    ec2 = session.client("ec2")
    ec2.create_key_pair(KeyName="mine")
    extra = home_group(session, objects_allowed)
    calls = Calls(session)
    p = AwsProvider(
        session,
        objects_allowed,
        "m5.large",
        an_image(session),
        key_name="mine",
        security_groups=[extra],
        user_data=user_parts(HELLO.encode(), "-aws-user-data"),
        config_files=(ConfigFile("50-mine.config", b"MY_KNOB = 42\n"),),
        pool=POOL,
        sleep=lambda _: None,
    )
    record, seen = launch(p, "extras", 3)
    assert len(seen) == 3

    (req,) = calls.params["RunInstances"]
    assert req["KeyName"] == "mine"
    # Given at all, groups replace the template's: the setup's comes first, always.
    assert req["SecurityGroupIds"] == [objects_allowed.security_group_id, extra]
    for instance in tagged(session, "extras"):
        assert instance["KeyName"] == "mine"
        assert {g["GroupId"] for g in instance["SecurityGroups"]} == {
            objects_allowed.security_group_id,
            extra,
        }

    # The user data: gzip of MIME, the boot script first, the user's after it.
    raw = ec2.describe_instance_attribute(InstanceId=seen[0].id, Attribute="userData")
    message = email.message_from_string(unpack(base64.b64decode(raw["UserData"]["Value"])))
    parts = [p for p in message.walk() if not p.is_multipart()]
    assert [p.get_filename() for p in parts] == [BOOT_PART_NAME, "50-user-data-1"]
    boot = parts[0].get_payload(decode=True).decode()
    assert "ANNEX_NAME=extras" in boot and "ANNEX_EXTRA_CONFIG=1" in boot
    assert "ANNEX_INSTALL_HTCONDOR='' " in boot  # an image was given: nothing to install
    assert parts[1].get_payload(decode=True).decode() == HELLO

    # The config files travel in the annex's own bundle, with the list the boot script reads.
    assert obj(session, objects_allowed.bucket, prefix("extras") + "config.d/50-mine.config") == (
        "MY_KNOB = 42\n"
    )
    assert (
        obj(session, objects_allowed.bucket, prefix("extras") + "config.d.list")
        == "50-mine.config\n"
    )

    # Ending the annex removes them with the rest of its objects.
    p.terminate_instances(record)
    listed = session.client("s3").list_objects_v2(
        Bucket=objects_allowed.bucket, Prefix=prefix("extras")
    )
    assert listed.get("KeyCount", 0) == 0


FLEET = {
    "IamFleetRole": "arn:aws:iam::123456789012:role/fleet",
    "AllocationStrategy": "diversified",
    "SpotPrice": "0.2",
    "LaunchSpecifications": [
        {"InstanceType": "m5.large", "WeightedCapacity": 1, "KeyName": "fleet-key"},
        {
            "InstanceType": "m5.xlarge",
            "WeightedCapacity": 2,
            "SpotPrice": "0.35",
            "KeyName": "fleet-key",
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": [{"Key": "project", "Value": "cms"}]}
            ],
        },
    ],
}


def test_a_spot_fleet_config_becomes_one_weighted_instant_fleet(
    session: Any, objects_allowed: SetupRecord, tmp_path: Path
) -> None:
    session.client("ec2").create_key_pair(KeyName="fleet-key")
    config = tmp_path / "fleet.json"
    config.write_text(json.dumps(FLEET))
    options = AwsOptions.from_given(
        {"fleet_config": config, "image": an_image(session), "tag": (("team", "physics"),)}
    )
    p = aws_provider(options, POOL)
    calls = Calls(p.session)  # the provider's own session, made from the options
    said = p.describe(request("weighted", 8))
    assert "Will request 8 spot slots (m5.large (weight 1), m5.xlarge (weight 2))" in said
    assert "Note: spot fleet config: IamFleetRole is ignored" in said
    record, seen = launch(p, "weighted", 8)

    (req,) = calls.params["CreateFleet"]
    assert req["Type"] == "instant"
    assert req["TargetCapacitySpecification"]["TotalTargetCapacity"] == 8  # -slots
    assert req["SpotOptions"] == {
        "AllocationStrategy": "diversified",
        "InstanceInterruptionBehavior": "terminate",
    }
    overrides = req["LaunchTemplateConfigs"][0]["Overrides"]
    assert [(o["InstanceType"], o["WeightedCapacity"], o["MaxPrice"]) for o in overrides] == [
        ("m5.large", 1.0, "0.2"),
        ("m5.xlarge", 2.0, "0.35"),
    ]
    (version,) = calls.params["CreateLaunchTemplateVersion"]
    assert version["LaunchTemplateData"]["KeyName"] == "fleet-key"
    assert "SecurityGroupIds" not in version["LaunchTemplateData"]  # the template's own
    # The annex keeps its tags, lease and role; the config's instance tags join them.
    instances = tagged(session, "weighted")
    assert {i["InstanceId"] for i in instances} == {o.id for o in seen}
    tags = tags_of(instances[0])
    assert tags[TAG_ANNEX] == "weighted" and tags["project"] == "cms" and tags["team"] == "physics"
    p.terminate_instances(record)


def test_no_image_means_the_regions_amazon_linux_installing_htcondor_at_boot(
    session: Any, objects_allowed: SetupRecord, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no recorded default image
    ssm = session.client("ssm")
    x86 = ssm.get_parameter(Name=PARAMETER.format(arch="x86_64"))["Parameter"]["Value"]
    arm = ssm.get_parameter(Name=PARAMETER.format(arch="arm64"))["Parameter"]["Value"]
    assert x86 != arm

    p = aws_provider(AwsOptions.from_given({"instance_type": "m5.large"}), POOL)
    calls = Calls(p.session)
    assert p.image_id == ""
    record, seen = launch(p, "stock", 2)
    (req,) = calls.params["RunInstances"]
    assert req["ImageId"] == x86
    said = p.describe(request("stock", 2))
    assert f"Amazon Linux 2023 ({x86}) and install HTCondor at boot" in said
    assert "annex image build --role worker" in said
    ec2 = session.client("ec2")
    raw = ec2.describe_instance_attribute(InstanceId=seen[0].id, Attribute="userData")
    assert "ANNEX_INSTALL_HTCONDOR=1" in unpack(base64.b64decode(raw["UserData"]["Value"]))
    # The install scripts travel in the annex's bundle, as the image build runs them.
    for name in ("install/install-worker.sh", "install/image-common.sh"):
        text = obj(session, objects_allowed.bucket, prefix("stock") + name)
        assert text.startswith("#!/bin/bash")
    p.terminate_instances(record)

    # Graviton types get the arm64 image; a spot annex mixing both gets each its own.
    mixed = aws_provider(
        AwsOptions.from_given({"spot": True, "instance_types": ("m7g.large", "m5.large")}), POOL
    )
    calls = Calls(mixed.session)
    record, _ = launch(mixed, "mixed", 2)
    overrides = calls.params["CreateFleet"][0]["LaunchTemplateConfigs"][0]["Overrides"]
    assert {o["InstanceType"]: o["ImageId"] for o in overrides} == {
        "m7g.large": arm,
        "m5.large": x86,
    }
    mixed.terminate_instances(record)


def test_a_recorded_region_default_image_wins_over_amazon_linux(
    session: Any, objects_allowed: SetupRecord, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    from condor_annex.providers.aws.images.imagedefault import record_default_image

    baked = an_image(session)
    written = record_default_image(REGION, baked)
    assert written == tmp_path / ".condor" / "user_config"
    assert f"us_east_1.ANNEX_DEFAULT_ODI_IMAGE_ID = {baked}" in written.read_text()
    p = aws_provider(AwsOptions.from_given({}), POOL)
    assert p.image_id == baked
    other = aws_provider(AwsOptions.from_given({"image": "ami-12c6146b"}), POOL)
    assert other.image_id == "ami-12c6146b"  # a flag still wins


def test_bad_choices_are_one_line_before_anything_is_made(
    session: Any, objects_allowed: SetupRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no recorded default image
    image = an_image(session)
    foreign = other_vpc_group(session)
    fleet = tmp_path / "fleet.json"
    fleet.write_text(json.dumps({**FLEET, "LaunchSpecifications": [
        {"InstanceType": "m5.large", "SecurityGroups": [{"GroupId": foreign}]}
    ]}))  # fmt: skip
    cases: list[tuple[dict[str, Any], str]] = [
        ({"image": image, "key_name": "nope"}, "key pair 'nope' does not exist"),
        ({"image": image, "security_group": (foreign,)}, "is not in the setup's VPC"),
        ({"image": image, "security_group": ("sg-0000000000000000f",)}, "security group"),
        ({"instance_type": "x9.mystery"}, "instance type x9.mystery does not exist"),
        ({"fleet_config": fleet, "image": image}, f"SecurityGroups {foreign} cannot be used"),
    ]
    iam = session.client("iam")
    roles_before = iam.list_roles(PathPrefix="/condor-annex/")["Roles"]
    for given, needle in cases:
        with pytest.raises(UsageError) as caught:
            p = aws_provider(AwsOptions.from_given(given), POOL)
            p.prepare(request("bad", 1))
        assert needle in str(caught.value) and "\n" not in str(caught.value), given
    ec2 = session.client("ec2")
    live = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
    assert live["Reservations"] == []
    assert iam.list_roles(PathPrefix="/condor-annex/")["Roles"] == roles_before  # no annex role
    listed = session.client("s3").list_objects_v2(Bucket=objects_allowed.bucket, Prefix="annexes/")
    assert listed.get("KeyCount", 0) == 0


def test_a_missing_amazon_linux_parameter_is_one_line(session: Any) -> None:
    """With botocore's Stubber: moto has the parameter in every region it knows."""
    ssm = session.client("ssm")
    with Stubber(ssm) as stub:
        stub.add_client_error(
            "get_parameter",
            service_error_code="ParameterNotFound",
            expected_params={"Name": PARAMETER.format(arch="x86_64")},
        )
        with pytest.raises(UsageError) as caught:
            stock_images(session.client("ec2"), ssm, ["m5.large"])
    assert "cannot be read (ParameterNotFound); give an image with --image" in str(caught.value)
