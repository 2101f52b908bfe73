"""The CloudFormation template, as a file and as setup renders it, passes cfn-lint."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib import resources
from pathlib import Path

from condor_annex.providers.aws.account import stacktemplate

CFN_LINT = Path(sys.executable).parent / "cfn-lint"
TEMPLATES = Path(str(resources.files("condor_annex.providers.aws") / "templates"))


def test_templates_pass_cfn_lint(tmp_path: Path) -> None:
    rendered = tmp_path / "account-rendered.yaml"
    rendered.write_text(stacktemplate.account_template())
    raw = TEMPLATES / stacktemplate.TEMPLATE_NAME
    pool = TEMPLATES / "pool.yaml"  # used as is
    result = subprocess.run(
        [str(CFN_LINT), str(raw), str(rendered), str(pool)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendered_template_carries_the_reaper_source_unchanged() -> None:
    rendered = stacktemplate.account_template()
    assert stacktemplate.MARKER not in rendered
    block = rendered.split("ZipFile: |\n", 1)[1]
    lines = []
    for line in block.splitlines():
        if line and not line.startswith(" " * 10):
            break
        lines.append(line[10:])
    assert "\n".join(lines).strip() == stacktemplate.reaper_source().strip()


def test_reaper_imports_only_what_lambda_has() -> None:
    """The reaper runs in Lambda alone: standard library and boto3/botocore only."""
    tree = ast.parse(stacktemplate.reaper_source())
    roots = {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    } | {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert roots - sys.stdlib_module_names <= {"boto3", "botocore"}
