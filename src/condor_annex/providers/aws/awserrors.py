"""AWS's refusals as one-line AnnexErrors (exit 1), never tracebacks, for every command
that calls AWS after its input was checked."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from condor_annex.errors import AnnexError


def aws_errors(method: Callable[..., Any]) -> Callable[..., Any]:
    """AWS's refusals become one-line AnnexErrors (exit 1), never tracebacks."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except ClientError as err:
            error = err.response.get("Error", {})
            text = f"{error.get('Code', '')}: {error.get('Message', '')}".replace("\n", " ")
            raise AnnexError(f"AWS refused {err.operation_name} ({text[:300]})") from err
        except BotoCoreError as err:
            raise AnnexError(f"cannot reach AWS ({str(err)[:300]})") from err

    return wrapper
