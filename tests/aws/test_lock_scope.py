"""Locks are per annex and never held across a call to a provider: while an AWS launch
hangs (here: RunInstances held at botocore's before-call hook, against moto), the local
reaper still settles the local annexes, and `status` of another annex still answers.

Before per-annex locks, `create` held one global lock across the launch, and the reaper
waited for it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.condor.conftest import annexes, home, workdir  # noqa: F401 - fixtures

from condor_annex import Annexes
from condor_annex.providers.local.reaper import reap_once

from .conftest import lift_tls_policy

pytestmark = pytest.mark.condor

BOUND = 15.0  # seconds a reaper pass may take here, far above its usual tenth of a second


def test_local_reaper_does_not_wait_on_an_aws_launch(
    annexes: Annexes,  # noqa: F811 - the pool fixture
    home: Path,  # noqa: F811
    session: Any,
    record: Any,
) -> None:
    lift_tls_policy(session, record.bucket)
    image = session.client("ec2").describe_images()["Images"][0]["ImageId"]
    local = annexes.create(annexes.request("nearby", 1, 600, 300))
    assert len(local.live_workers) == 1

    cloud = Annexes(home=home, options={"aws": {"image": image, "instance_type": "m5.large"}})
    launching, release = threading.Event(), threading.Event()

    def hold(**_: Any) -> None:
        launching.set()
        release.wait(60)

    cloud.provider("aws").session.events.register("before-call.ec2.RunInstances", hold)
    failures: list[BaseException] = []

    def create() -> None:
        try:
            cloud.create(cloud.request("faraway", 2, 600, 300), "aws")
        except BaseException as err:  # reported below
            failures.append(err)

    creator = threading.Thread(target=create)
    creator.start()
    try:
        assert launching.wait(60), "the AWS launch never started"
        done: list[int] = []
        reaper = threading.Thread(target=lambda: done.append(reap_once(annexes.store, time.time())))
        started = time.monotonic()
        reaper.start()
        reaper.join(BOUND)
        assert done == [1], f"the reaper waited on the launch ({time.monotonic() - started:.1f}s)"
        (nearby,) = annexes.status("nearby")
        assert nearby.running == 1
    finally:
        release.set()
        creator.join(120)
    assert not failures, failures
    assert len(cloud.store.load_annex("faraway").workers) == 2
