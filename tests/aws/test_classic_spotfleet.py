"""The classic spot fleet config (-aws-spot-fleet-config-file) mapped onto one instant EC2
Fleet: what carries over, what is said to be ignored, and what is refused (one line,
naming the field). Pure mapping; the launch itself is in test_classic_launch.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from condor_annex.errors import UsageError
from condor_annex.providers.aws.annexes.spotfleetconfig import (
    plan_from_config,
    read_fleet_config,
    spot_options,
)

# A request as the EC2 console's "JSON config" download and the classic docs wrote them.
CLASSIC = {
    "IamFleetRole": "arn:aws:iam::123456789012:role/aws-ec2-spot-fleet-tagging-role",
    "AllocationStrategy": "lowestPrice",
    "TargetCapacity": 10,
    "SpotPrice": "0.12",
    "TerminateInstancesWithExpiration": True,
    "ValidUntil": "2030-01-01T00:00:00Z",
    "Type": "request",
    "LaunchSpecifications": [
        {
            "ImageId": "ami-0123456789abcdef0",
            "InstanceType": "m5.large",
            "WeightedCapacity": 1,
            "SubnetId": "subnet-aaaa1111, subnet-bbbb2222",
            "KeyName": "mine",
            "SecurityGroups": [{"GroupId": "sg-0setup"}],
            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 50}}],
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": [{"Key": "project", "Value": "cms"}]}
            ],
        },
        {
            "InstanceType": "m5.2xlarge",
            "WeightedCapacity": 4,
            "SpotPrice": "0.40",
            "Placement": {"AvailabilityZone": "us-east-1b"},
            "KeyName": "mine",
            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 50}}],
        },
    ],
}


def with_changes(**changes: Any) -> dict[str, Any]:
    config = json.loads(json.dumps(CLASSIC))
    for key, value in changes.items():
        if value is None:
            config.pop(key)
        else:
            config[key] = value
    return config


def spec_with(**changes: Any) -> dict[str, Any]:
    config = with_changes()
    config["LaunchSpecifications"][0].update(changes)
    return config


def test_launch_specifications_become_weighted_priced_overrides() -> None:
    plan = plan_from_config(CLASSIC)
    overrides = [o.request(o.image_id or "ami-default") for o in plan.overrides]
    assert overrides == [
        # One override per subnet (an instant fleet takes one subnet per override).
        {
            "InstanceType": "m5.large",
            "ImageId": "ami-0123456789abcdef0",
            "WeightedCapacity": 1.0,
            "MaxPrice": "0.12",  # the request's price, where the specification has none
            "SubnetId": "subnet-aaaa1111",
        },
        {
            "InstanceType": "m5.large",
            "ImageId": "ami-0123456789abcdef0",
            "WeightedCapacity": 1.0,
            "MaxPrice": "0.12",
            "SubnetId": "subnet-bbbb2222",
        },
        {
            "InstanceType": "m5.2xlarge",
            "ImageId": "ami-default",  # none of its own: the annex's image
            "WeightedCapacity": 4.0,
            "MaxPrice": "0.40",
            "AvailabilityZone": "us-east-1b",
        },
    ]
    assert plan.instance_types == ["m5.large", "m5.2xlarge"]
    assert plan.weight_of("m5.2xlarge") == 4.0
    assert spot_options(plan) == {
        "AllocationStrategy": "lowest-price",
        "InstanceInterruptionBehavior": "terminate",
    }
    assert plan.template_data == {
        "KeyName": "mine",
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 50}}],
    }
    assert plan.tags == {"project": "cms"}
    assert plan.security_groups == ("sg-0setup",)  # checked against the setup's later
    assert plan.image_ids == ["ami-0123456789abcdef0"]
    assert plan.subnet_ids == ["subnet-aaaa1111", "subnet-bbbb2222"]
    said = " / ".join(plan.notes)
    for field in ("IamFleetRole", "TargetCapacity", "ValidUntil", "Type 'request'"):
        assert field in said


def test_defaults_and_the_other_spellings() -> None:
    minimal = {"LaunchSpecifications": [{"InstanceType": "c5.large"}]}
    plan = plan_from_config(minimal)
    assert spot_options(plan)["AllocationStrategy"] == "capacity-optimized"
    assert spot_options() == spot_options(plan)  # the annex's own default
    assert plan.overrides[0].request("ami-x") == {"InstanceType": "c5.large", "ImageId": "ami-x"}
    assert plan.notes == ()
    wrapped = {"SpotFleetRequestConfig": minimal, "DryRun": False}  # the CLI skeleton's
    assert plan_from_config(wrapped) == plan
    for given, expected in [
        ("diversified", "diversified"),
        ("capacityOptimizedPrioritized", "capacity-optimized-prioritized"),
        ("priceCapacityOptimized", "price-capacity-optimized"),
        ("price-capacity-optimized", "price-capacity-optimized"),
    ]:
        config = {**minimal, "AllocationStrategy": given}
        assert plan_from_config(config).allocation_strategy == expected
    capped = plan_from_config({**minimal, "SpotMaxTotalPrice": "2.5", "InstancePoolsToUseCount": 2})
    assert spot_options(capped)["MaxTotalPrice"] == "2.5"
    assert spot_options(capped)["InstancePoolsToUseCount"] == 2


REFUSED = [
    (
        spec_with(IamInstanceProfile={"Arn": "arn:aws:iam::1:instance-profile/x"}),
        "IamInstanceProfile",
    ),
    (spec_with(UserData="IyEvYmluL3NoCg=="), "UserData cannot be used"),
    (spec_with(NetworkInterfaces=[{"DeviceIndex": 0}]), "NetworkInterfaces"),
    (spec_with(Frobnicate=1), "LaunchSpecifications[0].Frobnicate is not a field"),
    (spec_with(InstanceType=""), "needs an InstanceType"),
    (spec_with(WeightedCapacity=0), "WeightedCapacity must be above 0"),
    (spec_with(WeightedCapacity="two"), "WeightedCapacity must be a number"),
    (spec_with(SpotPrice="free"), "SpotPrice must be a price"),
    (spec_with(ImageId="centos"), "ImageId must be an AMI id"),
    (spec_with(SubnetId="vpc-1"), "SubnetId must be subnet ids"),
    (spec_with(Placement={"Tenancy": "dedicated"}), "Placement may hold only"),
    (spec_with(KeyName="other"), "KeyName differs between the launch specifications"),
    (spec_with(SecurityGroups=[{"GroupName": "web"}]), "SecurityGroups must be a list"),
    (
        spec_with(TagSpecifications=[{"ResourceType": "volume", "Tags": []}]),
        "tags for 'volume' cannot be kept",
    ),
    (with_changes(Type="maintain"), "Type 'maintain' cannot be kept"),
    (with_changes(ReplaceUnhealthyInstances=True), "ReplaceUnhealthyInstances True"),
    (with_changes(InstanceInterruptionBehavior="stop"), "InstanceInterruptionBehavior 'stop'"),
    (with_changes(OnDemandTargetCapacity=2), "use -count for on-demand"),
    (with_changes(LaunchTemplateConfigs=[]), "LaunchTemplateConfigs cannot be used"),
    (with_changes(LoadBalancersConfig={}), "LoadBalancersConfig cannot be used"),
    (with_changes(Mystery=1), "Mystery is not a field this tool can honour"),
    (with_changes(AllocationStrategy="cheapest"), "AllocationStrategy 'cheapest' is not one of"),
    (with_changes(InstancePoolsToUseCount=0), "InstancePoolsToUseCount must be"),
    (with_changes(LaunchSpecifications=[]), "needs LaunchSpecifications"),
    (with_changes(LaunchSpecifications=None), "needs LaunchSpecifications"),
    ([CLASSIC], "must be a JSON object"),
]


@pytest.mark.parametrize(("config", "needle"), REFUSED)
def test_what_cannot_be_honoured_is_one_line_naming_it(config: Any, needle: str) -> None:
    with pytest.raises(UsageError) as caught:
        plan_from_config(config)
    message = str(caught.value)
    assert needle in message and "\n" not in message


def test_the_file_is_read_and_checked(tmp_path: Path) -> None:
    good = tmp_path / "fleet.json"
    good.write_text(json.dumps(CLASSIC))
    assert read_fleet_config(good).instance_types == ["m5.large", "m5.2xlarge"]
    for name, text, needle in [
        ("broken.json", "{ not json", "is not JSON"),
        ("missing.json", None, "cannot be read"),
    ]:
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        with pytest.raises(UsageError, match=needle):
            read_fleet_config(path)
