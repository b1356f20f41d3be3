"""The price table: refreshed file, configured overrides, fallbacks, and damage reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from editorial_assistant.errors import AppError
from editorial_assistant.llm.prices import Price, PriceTable
from tests.conftest import make_settings

FALLBACK = Price(15e-6, 75e-6)


def test_configured_prices_win_over_the_refreshed_table(tmp_path: Path) -> None:
    table = tmp_path / "models.json"
    table.write_text(
        json.dumps(
            {
                "models": {
                    "a/x": {"prompt": 1e-6, "completion": 2e-6},
                    "b/y": {"prompt": 3e-6, "completion": 4e-6},
                }
            }
        )
    )
    prices = PriceTable.load(table, FALLBACK, {"b/y": {"prompt": 5e-6, "completion": 6e-6}})
    assert prices.price("a/x") == Price(1e-6, 2e-6)
    assert prices.price("b/y") == Price(5e-6, 6e-6)
    assert prices.price("unknown/z") == FALLBACK


def test_a_missing_table_means_fallback_prices(tmp_path: Path) -> None:
    assert PriceTable.load(tmp_path / "none.json", FALLBACK).price("a/x") == FALLBACK


def test_a_damaged_table_is_reported_with_the_fix(tmp_path: Path) -> None:
    table = tmp_path / "models.json"
    table.write_text("{not json")
    with pytest.raises(AppError, match="damaged") as caught:
        PriceTable.load(table, FALLBACK)
    assert "models refresh" in caught.value.hint


def test_a_configured_price_must_name_prompt_and_completion(tmp_path: Path) -> None:
    from editorial_assistant.errors import ConfigError

    config = tmp_path / "config.toml"
    config.write_text('[models.prices]\n"a/x" = { prompt = 1e-6 }\n')
    with pytest.raises(ConfigError, match=r"models\.prices"):
        make_settings(tmp_path)
