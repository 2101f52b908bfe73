"""The install script's Amazon Linux 2023 part (image-common.sh), run by bash with a
stand-in `dnf` that records what it is asked to install. There is no Amazon Linux here
(and no network to HTCondor's repository), so this checks the script's choices: HTCondor's
own amzn2023 release package, no EPEL, iptables-nft, the AWS CLI that AL2023 already
has, and Amazon Linux 2 refused. The Debian path runs for real in
bench/worker_install_debian13.py.
"""

from __future__ import annotations

import subprocess
from importlib import resources
from pathlib import Path

TEMPLATES = Path(str(resources.files("condor_annex.providers.aws") / "templates"))


def run(
    tmp_path: Path, body: str, major: str = "2023"
) -> tuple[subprocess.CompletedProcess[str], str]:
    stubs = tmp_path / "stubs"
    stubs.mkdir(exist_ok=True)
    log = tmp_path / "dnf.log"
    (stubs / "dnf").write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    (stubs / "aws").write_text("#!/bin/sh\necho aws-cli/2\n")
    for tool in stubs.iterdir():
        tool.chmod(0o755)
    script = (
        f". {TEMPLATES / 'image-common.sh'}\n"
        # After sourcing (it sets PATH): only the stand-ins and basic tools, no iptables.
        f"PATH={stubs}:/usr/bin:/bin\n"
        f"OS_ID=amzn OS_MAJOR={major} OS_FAMILY=rhel\n{body}\n"
    )
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    return proc, log.read_text() if log.exists() else ""


def test_amazon_linux_2023_gets_htcondors_own_repository_and_iptables(tmp_path: Path) -> None:
    proc, dnf = run(
        tmp_path,
        "prepare_amazon_linux && official_repo_rhel && install_aws_cli && echo done",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("done")
    calls = dnf.splitlines()
    assert calls[0] == "-y -q install iptables-nft"
    assert calls[1] == (
        "-y -q install https://research.cs.wisc.edu/htcondor/repo/24.0/"
        "htcondor-release-current.amzn2023.noarch.rpm"
    )
    assert not any("epel" in call for call in calls)  # Amazon Linux has no EPEL
    assert not any("awscli" in call for call in calls)  # it has the AWS CLI already


def test_amazon_linux_2_is_refused(tmp_path: Path) -> None:
    proc, dnf = run(tmp_path, "prepare_amazon_linux", major="2")
    assert proc.returncode == 1
    assert "Amazon Linux 2 is not supported; use Amazon Linux 2023" in proc.stdout
    assert dnf == ""


def test_other_distributions_are_left_alone(tmp_path: Path) -> None:
    proc, dnf = run(tmp_path, "OS_ID=rocky; prepare_amazon_linux && echo untouched")
    assert proc.stdout.strip() == "untouched" and dnf == ""
