"""The provider boundary: providers are packages found by name, each exporting the same
small set, and the core asks for capabilities, never for a provider by name."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from condor_annex.errors import UsageError
from condor_annex.interfaces import CAPABILITIES, Option
from condor_annex.interfaces.plugin import EXPORTS, REQUIRED
from condor_annex.providers import registry

SRC = Path(__file__).resolve().parents[1] / "src" / "condor_annex"
# The core: it must never name a provider or reach into one.
CORE = ["api.py", "model.py", "lifecycle.py", "status.py", "settle.py", "store.py"]
SHARED_CLI = ["cli/main.py", "cli/account.py", "cli/provideroptions.py", "cli/prompt.py"]


def test_every_provider_package_exports_the_same_set() -> None:
    assert {"local", "aws"} <= set(registry.names())
    for name in registry.names():
        package = registry.package(name)
        for export in REQUIRED:
            assert hasattr(package, export), (name, export)
        assert name == package.NAME
        assert set(package.CAPABILITIES) <= set(CAPABILITIES)
        for capability in package.CAPABILITIES - {"renew"}:
            assert callable(getattr(package, EXPORTS[capability])), (name, capability)
        assert all(isinstance(o, Option) for o in package.OPTIONS)


def test_reading_the_providers_loads_no_sdk() -> None:
    """--help builds its options from every provider: that must not load boto3 or
    HTCondor's bindings."""
    code = (
        "import sys; from condor_annex.providers import registry; "
        "[registry.options(n) for n in registry.names()]; "
        "print(sorted(m for m in ('boto3', 'htcondor2', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("path", CORE + SHARED_CLI)
def test_core_and_shared_cli_name_no_provider(path: str) -> None:
    tree = ast.parse((SRC / path).read_text())
    imported = [
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    ] + [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    assert not [m for m in imported if m.startswith("condor_annex.providers.")], imported
    names = {"local", "aws"} & {
        node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
    }
    assert not names, f"{path} names providers {names}"


def _package(name: str, capabilities: frozenset[str], **extra: object) -> types.ModuleType:
    module = types.ModuleType(f"fake_{name}")
    module.NAME = name  # type: ignore[attr-defined]
    module.SUMMARY = "test"  # type: ignore[attr-defined]
    module.OPTIONS = ()  # type: ignore[attr-defined]
    module.CAPABILITIES = capabilities  # type: ignore[attr-defined]
    module.open_provider = lambda *_: None  # type: ignore[attr-defined]
    for key, value in extra.items():
        setattr(module, key, value)
    return module


def test_a_package_missing_a_capability_it_claims_is_refused() -> None:
    with pytest.raises(registry.BrokenProvider, match="open_account"):
        registry.register(_package("broken", frozenset({"account"})))
    with pytest.raises(registry.BrokenProvider, match="teleport"):
        registry.register(_package("odd", frozenset({"teleport"})))


def test_capabilities_are_asked_for_not_names() -> None:
    registry.register(_package("plain", frozenset()))
    try:
        assert "plain" in registry.names()
        assert "plain" not in registry.with_capability("account")
        with pytest.raises(UsageError, match=r"provider 'plain' has no account \(providers"):
            registry.capability("plain", "account")
    finally:
        registry.unregister("plain")
    with pytest.raises(UsageError, match="unknown provider 'nope'; choose one of"):
        registry.package("nope")


def test_exports_survive_importing_every_sub_module() -> None:
    """A sub-module named like an export would replace it on the package once imported
    (aws has reaper.py and commands/): the exports are named apart from any."""
    import importlib
    import pkgutil

    for name in registry.names():
        package = registry.package(name)
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(info.name)
        for capability in package.CAPABILITIES - {"renew"}:
            assert callable(getattr(package, EXPORTS[capability])), (name, capability)


PLUGIN = '''
"""A provider kept outside condor-annex's tree."""
from condor_annex.interfaces import Option
NAME = "elsewhere"
SUMMARY = "a test provider"
OPTIONS = (Option("--elsewhere-queue", "Which queue."),)
CAPABILITIES = frozenset()
def open_provider(context, options, location):
    raise NotImplementedError
'''


def test_a_provider_outside_the_tree_joins_by_environment(tmp_path: Path) -> None:
    (tmp_path / "elsewhere_provider.py").write_text(PLUGIN)
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        registry.PLUGINS_VARIABLE: "elsewhere_provider",
    }
    annex = Path(sys.executable).parent / "annex"
    shown = subprocess.run(
        [str(annex), "create", "--help"], capture_output=True, text=True, env=env, check=True
    )
    assert "[aws|elsewhere|local|slurm]" in shown.stdout
    assert "[elsewhere] Which queue." in shown.stdout
    env[registry.PLUGINS_VARIABLE] = "no_such_module"
    bad = subprocess.run(
        [str(annex), "--help"], capture_output=True, text=True, env=env, check=False
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert "CONDOR_ANNEX_PROVIDERS names 'no_such_module'" in bad.stderr
