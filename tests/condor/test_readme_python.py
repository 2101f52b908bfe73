"""The README's "Jobs from Python, as an ordinary user" works as written: its Python
snippet, run unchanged by an ordinary user of this machine with the environment its shell
lines set, submits a job that runs on an annex worker. Also: the user's token is renewed
once it is half its lifetime old."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import htcondor2
from tests.condor.jobs import wait_done, wait_slots

from condor_annex import Annexes
from condor_annex.poolaccess import ADMIN, USER_TOKEN_LIFETIME
from condor_annex.runtime.base import as_user
from condor_annex.runtime.users import Account

README = Path(__file__).parents[2] / "README.md"
HEADING = "### Jobs from Python, as an ordinary user"
# The Python the person uses: this machine's own, with the bindings from PyPI (those the
# project installed; the venv's interpreter itself lives under root's 0700 home).
SYSTEM_PYTHON = "/usr/bin/python3"
README_HOME = "/var/lib/condor-annex"  # the state home the README's paths are in (root's)


def _section() -> str:
    text = README.read_text()
    start = text.index(HEADING)
    end = text.index("\n### ", start + len(HEADING))
    return text[start:end]


def _block(section: str, language: str) -> str:
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match, f"no {language} block under {HEADING}"
    return match.group(1)


def _exports(section: str) -> dict[str, str]:
    pairs = re.findall(r"^export (\w+)=(\S+)", _block(section, "sh"), re.M)
    return dict(pairs)


def test_readme_python_snippet_submits_as_an_ordinary_user(
    person: Account,
    annexes: Annexes,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    section = _section()
    record = annexes.create(annexes.request("py", 1, lease_seconds=600, idle_seconds=300))
    wait_slots(annexes, "py", 1)

    # As the README says: the administrator's `annex exec --user` gives the token.
    given = cli("exec", "--user", person.name, "--", "condor_q")
    assert given.returncode == 0, given.stderr

    # The shell lines, with this test pool's address and state home for the README's.
    exports = _exports(section)
    assert set(exports) == {
        "_CONDOR_COLLECTOR_HOST",
        "_CONDOR_SEC_TOKEN_DIRECTORY",
        "_CONDOR_SEC_CLIENT_AUTHENTICATION_METHODS",
    }
    token_dir = exports["_CONDOR_SEC_TOKEN_DIRECTORY"].replace("$USER", person.name)
    assert token_dir.replace(README_HOME, str(annexes.store.home)) == str(
        annexes.pool.users_dir / person.name
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": person.home,
        "USER": person.name,
        "PYTHONPATH": str(Path(htcondor2.__file__).parents[1]),  # its site-packages
        "_CONDOR_COLLECTOR_HOST": annexes.pool.require_up().collector,
        "_CONDOR_SEC_TOKEN_DIRECTORY": str(annexes.pool.users_dir / person.name),
        "_CONDOR_SEC_CLIENT_AUTHENTICATION_METHODS": exports[
            "_CONDOR_SEC_CLIENT_AUTHENTICATION_METHODS"
        ],
    }

    # The Python block, unchanged, run by the person from their home.
    script = Path(person.home) / "submit.py"
    script.write_text(_block(section, "python"))
    os.chown(script, person.uid, person.gid)
    proc = subprocess.run(
        [*as_user(person.uid, person.gid), SYSTEM_PYTHON, str(script)],
        cwd=person.home,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    match = re.search(r"^submitted cluster (\d+)$", proc.stdout, re.M)
    assert match, proc.stdout

    (job,) = wait_done(annexes, int(match.group(1)), timeout=120)
    assert job["ExitCode"] == 0 and job["Owner"] == person.name
    assert str(job["LastRemoteHost"]).split("@")[1] == record.workers[0].id
    assert (Path(person.home) / "hello.out").read_text() == "hello from an annex\n"


def test_a_user_token_half_its_lifetime_old_is_renewed(annexes: Annexes) -> None:
    token = annexes.pool.user_token_dir(ADMIN) / "token"
    first = token.read_text()
    assert annexes.pool.user_token_dir(ADMIN) / "token" == token
    assert token.read_text() == first  # young: kept
    old = token.stat().st_mtime - USER_TOKEN_LIFETIME / 2 - 60
    os.utime(token, (old, old))
    annexes.pool.user_token_dir(ADMIN)
    assert token.read_text() != first  # half its lifetime old: renewed
    assert oct(token.stat().st_mode & 0o777) == "0o600"
