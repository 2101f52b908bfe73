"""The pool's id: what keeps annexes of different pools apart when they share an account.

Annex names are unique within a pool only. Wherever two pools can meet (one cloud account
used from two laptops, or from a laptop and a seed), the provider keys what it makes by
pool id and annex name together: tags, object keys, role paths.

The id is the HTCondor configuration's ANNEX_POOL_ID when set (a cloud pool's seed sets
it to the pool's name), else one made at random the first time and kept in the tool's
home, so it stays the same for the life of that home.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from condor_annex import settings
from condor_annex.names import validate_pool_id

PARAM = "ANNEX_POOL_ID"
FILE_NAME = "pool-id"


def pool_id(home: Path) -> str:
    configured = settings.param(PARAM)
    if configured is not None:
        return validate_pool_id(configured)
    path = home / FILE_NAME
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fresh = path.with_name(f".{FILE_NAME}.{os.getpid()}")
        fresh.write_text(f"home-{secrets.token_hex(5)}\n")
        # Two first runs at once: the first link wins, and both read the same id below.
        try:
            os.link(fresh, path)
        except FileExistsError:
            pass
        finally:
            fresh.unlink()
    return validate_pool_id(path.read_text().strip(), f"the pool id in {path}")
