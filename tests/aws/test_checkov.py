"""checkov on every CloudFormation template the tool ships (issue 9): no failed check
except those the README's security section explains, one line each, as
"- `CHECK_ID` on `Resource` (template): why". A skip no longer needed fails too, so the
list stays true."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from condor_annex.providers.aws.account import stacktemplate

from .test_templates import TEMPLATES

REPO = Path(__file__).resolve().parents[2]
# A venv of its own (checkov pins boto3 to an old release); scripts/bootstrap --test makes it.
CHECKOV = REPO / ".venv" / "checkov" / "bin" / "checkov"
README = REPO / "README.md"
SKIP_LINE = re.compile(r"^- `(CKV\w+)` on `(\w+)` \((\w+\.yaml)\): \S")


def explained_skips() -> set[tuple[str, str, str]]:
    """(check, resource, template) for each skip line of the README."""
    return {m.groups() for line in README.read_text().splitlines() if (m := SKIP_LINE.match(line))}


def test_checkov_finds_nothing_unexplained(tmp_path: Path) -> None:
    assert CHECKOV.is_file(), f"no {CHECKOV}: run scripts/bootstrap --test"
    # The account template as setup deploys it (the reaper's source inline), the pool's as is.
    (tmp_path / stacktemplate.TEMPLATE_NAME).write_text(stacktemplate.account_template())
    (tmp_path / "pool.yaml").write_text((TEMPLATES / "pool.yaml").read_text())
    proc = subprocess.run(
        [str(CHECKOV), "-d", str(tmp_path), "--framework", "cloudformation", "--quiet",
         "--compact", "--output", "json"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    reports = json.loads(proc.stdout) if proc.stdout.strip() else []
    reports = reports if isinstance(reports, list) else [reports]
    failed = {
        (check["check_id"], check["resource"].split(".")[-1], Path(check["file_path"]).name)
        for report in reports
        for check in report["results"]["failed_checks"]
    }
    skips = explained_skips()
    assert skips, "the README explains no checkov skip (or the line format changed)"
    assert failed - skips == set(), "failed and not explained in the README"
    assert skips - failed == set(), "explained in the README but no longer failing"
