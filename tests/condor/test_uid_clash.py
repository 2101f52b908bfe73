"""`annex exec --user U` where U's uid already means another name inside the runtime:
resolved when that other account is one the runtime made for jobs, else one line and
exit 2; never a traceback."""

from __future__ import annotations

import pwd
import secrets

import pytest
from tests.condor.users import host_user, remove_runtime_account

from condor_annex import Annexes
from condor_annex.runtime.chroot import ChrootRuntime
from condor_annex.runtime.users import FIRST_ORDINARY_UID, account, accounts, host_account

pytestmark = pytest.mark.machine  # picks uids that are free on this machine now


def _chroot(annexes: Annexes) -> ChrootRuntime:
    runtime = annexes.runtime
    if not isinstance(runtime, ChrootRuntime):
        pytest.skip("a native HTCondor shares this machine's accounts: no clash is possible")
    return runtime


def test_a_runtime_only_account_moves_aside_for_the_user_of_that_uid(
    annexes: Annexes,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    runtime = _chroot(annexes)
    jobs_only = f"annexjobs{secrets.token_hex(3)}"  # an account only the runtime has
    try:
        uid, _ = runtime.ensure_user(jobs_only)
        with host_user(uid=uid) as person:
            proc = cli("exec", "--user", person.name, "--", "condor_q", "-totals")
            assert proc.returncode == 0, proc.stderr
            assert "Traceback" not in proc.stderr
            assert account(runtime.passwd, person.name).uid == uid  # the same uid inside
            moved = account(runtime.passwd, jobs_only).uid
            assert moved != uid
            assert host_account(jobs_only) is None
    finally:
        remove_runtime_account(jobs_only)


def test_a_clash_with_a_system_account_is_one_line_and_exit_2(
    annexes: Annexes,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    runtime = _chroot(annexes)
    system = [
        entry
        for entry in accounts(runtime.passwd)
        if 0 < entry.uid < FIRST_ORDINARY_UID and not _uid_on_host(entry.uid)
    ]
    if not system:
        pytest.skip("every system uid of the runtime is taken on this machine too")
    taken = system[0]
    with host_user(uid=taken.uid) as person:
        proc = cli("exec", "--user", person.name, "--", "condor_q", "-totals")
        assert proc.returncode == 2, (proc.stdout, proc.stderr)
        (line,) = proc.stderr.strip().splitlines()
        assert f"uid {taken.uid} is the system account {taken.name}" in line
        assert "usermod -u" in line
        assert account(runtime.passwd, taken.name).uid == taken.uid  # left alone


def _uid_on_host(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True
