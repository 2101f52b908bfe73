"""Loaded by every Python process the AWS tests start (policyrecord puts this directory on
PYTHONPATH): once botocore.session is imported, its sessions record their calls like the
test process's (policycapture.py). Nothing happens without the record directory set, and
botocore is not imported early (that would cost every small Python process 0.4 s).
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

_CAPTURE = Path(__file__).resolve().parent.parent / "policycapture.py"


def _capture() -> Any:
    spec = importlib.util.spec_from_file_location("_condor_annex_policycapture", _CAPTURE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _HookBotocore(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps botocore.session's loading to hook it right after."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "botocore.session":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        load = loader.exec_module

        def exec_module(module: Any) -> None:
            load(module)
            capture = _capture()
            capture.install(os.environ[capture.RECORD_DIR_VARIABLE], "subprocess", module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if os.environ.get("CONDOR_ANNEX_POLICY_RECORD_DIR"):
    sys.meta_path.insert(0, _HookBotocore())
