"""The boot script's two new steps, run as a real script against the IMDSv2 stand-in and
moto's S3, with stand-ins for HTCondor's programs (as test_provider_bootscript.py does):
-config-dir files installed from the annex's bundle into the worker's configuration
directory, and HTCondor installed at boot from the annex's copy of the install script
when the image has none (here a stand-in installer puts the stand-in programs in place).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from condor_annex.providers.aws import SetupRecord
from condor_annex.providers.aws.annexes.bootscript import boot_script
from condor_annex.providers.aws.annexes.bundleupload import object_key, put_piece, upload_bundle
from condor_annex.providers.aws.annexes.configdir import ConfigFile, upload_config_files

from .annexkeys import POOL, prefix  # noqa: F401
from .imds import imds_server  # noqa: F401 - the imds fixture
from .test_provider import annex, bundle
from .test_provider_bootscript import (
    _stop,
    boot_env,
    fake_tools,
    run_boot,
    wait_until,
    write_variant,
)


def start(tmp_path: Path, imds: str, s3: str, script: str) -> Any:
    """The rendered user data, as the tests' copy with the stand-ins' addresses and paths
    in its settings block (bootvariant.py), run with the stand-in tools on PATH."""
    path = write_variant(
        tmp_path, script, imds, s3,
        LOCAL_DIR_OVERRIDE=str(tmp_path / "local"), POWEROFF="0", POLL_SECONDS="0.2",
    )  # fmt: skip
    env = boot_env(tmp_path, with_tools=True)
    return run_boot(path, env, HOME=str(tmp_path), AWS_EC2_METADATA_DISABLED="true")


def stop(tmp_path: Path) -> None:
    (tmp_path / "out" / "master.stop").touch()
    for name in ("supervisor.pid", "master.pid"):
        pid = tmp_path / "run" / name
        if pid.exists():
            _stop(int(pid.read_text()))


def test_config_dir_files_are_installed_and_read_after_worker_config(
    session: Any, objects_allowed: SetupRecord, imds: str, aws_env: str, tmp_path: Path
) -> None:
    s3 = session.client("s3")
    upload_bundle(s3, objects_allowed.bucket, prefix("cfg"), bundle(annex("cfg", 1)))
    files = (ConfigFile("50-mine.config", b"MY_KNOB = 42\n"), ConfigFile("60_more", b"X = 1\n"))
    upload_config_files(s3, objects_allowed.bucket, prefix("cfg"), files)
    (tmp_path / "out").mkdir()
    fake_tools(tmp_path / "bin", tmp_path / "out")
    proc = start(
        tmp_path,
        imds,
        aws_env,
        boot_script("cfg", prefix("cfg"), objects_allowed.bucket, "us-east-1", extra_config=True),
    )
    try:
        assert proc.returncode == 0, proc.stderr
        config_d = tmp_path / "etc" / "config.d"
        assert (config_d / "50-mine.config").read_text() == "MY_KNOB = 42\n"
        assert (config_d / "60_more").read_text() == "X = 1\n"
        assert (config_d / "60_more").stat().st_mode & 0o777 == 0o644
        worker = (tmp_path / "etc" / "worker.config").read_text().splitlines()
        # HTCondor reads LOCAL_CONFIG_DIR after the whole file: the user's files come last.
        assert worker[-1] == f"LOCAL_CONFIG_DIR = {config_d}"
        assert "installed the annex's configuration files" in proc.stderr
        wait_until((tmp_path / "out" / "master.started").exists, "condor_master to start")
    finally:
        stop(tmp_path)


def test_a_tampered_file_list_cannot_write_outside_the_config_dir(
    session: Any, objects_allowed: SetupRecord, imds: str, aws_env: str, tmp_path: Path
) -> None:
    s3 = session.client("s3")
    upload_bundle(s3, objects_allowed.bucket, prefix("evil"), bundle(annex("evil", 1)))
    put_piece(
        s3, objects_allowed.bucket, object_key(prefix("evil"), "config.d.list"), "../../escape\n"
    )
    (tmp_path / "out").mkdir()
    fake_tools(tmp_path / "bin", tmp_path / "out")
    proc = start(
        tmp_path,
        imds,
        aws_env,
        boot_script("evil", prefix("evil"), objects_allowed.bucket, "us-east-1", extra_config=True),
    )
    assert proc.returncode == 1
    assert "bad config file name '../../escape'" in proc.stderr
    assert not (tmp_path / "escape").exists() and not (tmp_path / "out" / "master.started").exists()


def test_no_htcondor_on_the_image_installs_it_at_boot_first(
    session: Any, objects_allowed: SetupRecord, imds: str, aws_env: str, tmp_path: Path
) -> None:
    s3 = session.client("s3")
    upload_bundle(s3, objects_allowed.bucket, prefix("stock"), bundle(annex("stock", 1)))
    # The stand-in installer puts the stand-in HTCondor programs where PATH looks.
    staged = tmp_path / "staged"
    (tmp_path / "out").mkdir()
    fake_tools(staged, tmp_path / "out")
    installer = (
        f'#!/bin/bash\nset -eu\n. "$(dirname "$0")/image-common.sh"\n'
        f"cp -r {staged} {tmp_path / 'bin'}\n"
    )
    put_piece(
        s3,
        objects_allowed.bucket,
        object_key(prefix("stock"), "install/install-worker.sh"),
        installer,
    )
    put_piece(
        s3, objects_allowed.bucket, object_key(prefix("stock"), "install/image-common.sh"), "true\n"
    )
    # tmp/bin: empty until installed
    assert not (tmp_path / "bin").exists()
    script = boot_script(
        "stock", prefix("stock"), objects_allowed.bucket, "us-east-1", install_htcondor=True
    )
    proc = start(tmp_path, imds, aws_env, script)
    try:
        assert proc.returncode == 0, proc.stderr
        assert "installing HTCondor at boot" in proc.stderr
        wait_until((tmp_path / "out" / "master.started").exists, "condor_master to start")
    finally:
        stop(tmp_path)

    # With HTCondor already there (a baked image), nothing is fetched or installed.
    stop(tmp_path)
    (tmp_path / "out" / "master.started").unlink()
    (tmp_path / "out" / "master.stop").unlink()
    put_piece(
        s3,
        objects_allowed.bucket,
        object_key(prefix("stock"), "install/install-worker.sh"),
        "exit 9\n",
    )
    proc = start(tmp_path, imds, aws_env, script)
    try:
        assert proc.returncode == 0, proc.stderr
        assert "installing HTCondor at boot" not in proc.stderr
    finally:
        stop(tmp_path)
