"""The pool's id: ANNEX_POOL_ID when the configuration sets it (a seed sets its pool's
name), else one made once per tool home and kept there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import htcondor2
import pytest

from condor_annex.errors import UsageError
from condor_annex.poolid import FILE_NAME, PARAM, pool_id


@pytest.fixture
def no_configured_id() -> Iterator[None]:
    htcondor2.param.pop(PARAM, None)
    yield
    htcondor2.param.pop(PARAM, None)


def test_a_home_makes_its_id_once_and_keeps_it(tmp_path: Path, no_configured_id: None) -> None:
    first = pool_id(tmp_path / "home")
    assert first.startswith("home-") and len(first) == len("home-") + 10
    assert pool_id(tmp_path / "home") == first
    assert (tmp_path / "home" / FILE_NAME).read_text() == f"{first}\n"
    assert pool_id(tmp_path / "other") != first  # another home is another pool


def test_the_configured_id_wins(tmp_path: Path, no_configured_id: None) -> None:
    htcondor2.param[PARAM] = "demo"
    assert pool_id(tmp_path) == "demo"
    assert not (tmp_path / FILE_NAME).exists()


@pytest.mark.parametrize("bad", ["has/slash", "dot.ted", "-lead", "x" * 33, "spa ce"])
def test_a_bad_configured_id_is_one_line(tmp_path: Path, no_configured_id: None, bad: str) -> None:
    htcondor2.param[PARAM] = bad
    with pytest.raises(UsageError, match=r"ANNEX_POOL_ID .* is not a pool id") as caught:
        pool_id(tmp_path)
    assert "\n" not in str(caught.value)


def test_the_seed_configures_its_pools_name_as_the_id() -> None:
    text = (
        Path(__file__).resolve().parents[1] / "src/condor_annex/providers/aws/templates/pool.yaml"
    ).read_text()
    assert "          ANNEX_POOL_ID = ${PoolName}\n" in text
