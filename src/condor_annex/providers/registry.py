"""Providers by name. Every sub-package of `condor_annex.providers` that exports NAME is a
provider (so adding one is adding a package), and so is every module named in the
environment variable CONDOR_ANNEX_PROVIDERS (comma-separated import paths: a provider
kept outside this tree). See `interfaces/plugin.py` for the exports.

(Not entry points: reading every installed distribution's metadata would cost `annex
--help` a quarter of its time.)
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Mapping
from functools import cache
from types import ModuleType
from typing import Any

from condor_annex.errors import UsageError
from condor_annex.interfaces.capabilities import CAPABILITIES
from condor_annex.interfaces.options import Option, Scope
from condor_annex.interfaces.plugin import EXPORTS, REQUIRED
from condor_annex.interfaces.provider import Context, Provider

PLUGINS_VARIABLE = "CONDOR_ANNEX_PROVIDERS"
_extra: dict[str, ModuleType] = {}


class BrokenProvider(Exception):
    """A provider package that does not export what every provider must (a bug)."""


def check_package(module: ModuleType) -> ModuleType:
    missing = [name for name in REQUIRED if not hasattr(module, name)]
    if not missing:
        declared = set(module.CAPABILITIES)
        missing += [f"capability {c!r}" for c in sorted(declared - set(CAPABILITIES))]
        missing += [
            EXPORTS[c] for c in sorted(declared) if c in EXPORTS and not hasattr(module, EXPORTS[c])
        ]
    if missing:
        raise BrokenProvider(f"provider package {module.__name__} lacks {', '.join(missing)}")
    return module


@cache
def _discovered() -> dict[str, ModuleType]:
    import condor_annex.providers as package

    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if hasattr(module, "NAME"):
            found[module.NAME] = check_package(module)
    for path in filter(None, os.environ.get(PLUGINS_VARIABLE, "").split(",")):
        try:
            module = importlib.import_module(path.strip())
        except ImportError as err:
            raise UsageError(
                f"{PLUGINS_VARIABLE} names {path!r}, which cannot be imported: {err}"
            ) from None
        found.setdefault(module.NAME, check_package(module))
    return found


def register(module: ModuleType) -> None:
    """Add a provider package at run time (a plug-in not installed as a distribution)."""
    _extra[check_package(module).NAME] = module


def unregister(name: str) -> None:
    _extra.pop(name, None)


def packages() -> dict[str, ModuleType]:
    return {**_discovered(), **_extra}


def names() -> list[str]:
    return sorted(packages())


def package(name: str) -> ModuleType:
    found = packages()
    if name not in found:
        raise UsageError(f"unknown provider {name!r}; choose one of: {', '.join(sorted(found))}")
    return found[name]


def add_commands(cli: Any, say: Any) -> None:
    """Every provider's own command groups (the "commands" capability)."""
    for name in with_capability("commands"):
        package(name).add_commands(cli, say)


def supports(name: str, capability: str) -> bool:
    return capability in package(name).CAPABILITIES


def with_capability(capability: str) -> list[str]:
    return [
        name for name, module in sorted(packages().items()) if capability in module.CAPABILITIES
    ]


def options(name: str, scopes: tuple[Scope, ...] | None = None) -> tuple[Option, ...]:
    declared: tuple[Option, ...] = package(name).OPTIONS
    return tuple(o for o in declared if scopes is None or o.scope in scopes)


def owner_of(dest: str) -> list[str]:
    """The providers that declare an option of this name."""
    return [
        name for name, module in packages().items() if any(o.dest == dest for o in module.OPTIONS)
    ]


def open_provider(
    name: str, context: Context, given: Mapping[str, Any], location: str = ""
) -> Provider:
    provider: Provider = package(name).open_provider(context, given, location)
    return provider


def capability(name: str, kind: str, *args: Any) -> Any:
    """The provider's implementation of an optional capability, or a one-line error."""
    if not supports(name, kind):
        able = ", ".join(with_capability(kind)) or "none"
        raise UsageError(f"provider {name!r} has no {kind} (providers that do: {able})")
    return getattr(package(name), EXPORTS[kind])(*args)
