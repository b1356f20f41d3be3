"""The model price table: USD per prompt and per completion token, by OpenRouter slug.

``editorial-assistant models refresh`` writes it from OpenRouter's models endpoint into the data
folder; a model missing from it is priced at the configured (deliberately high) fallback, so a
budget estimate is never too low for want of a price.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from editorial_assistant.db import timestamp
from editorial_assistant.errors import AppError


@dataclass(frozen=True)
class Price:
    """What one token costs, in USD."""

    prompt: float
    completion: float


class PriceTable:
    """Prices by model, with a fallback for models it does not list."""

    def __init__(self, prices: dict[str, Price], fallback: Price) -> None:
        self.prices, self.fallback = prices, fallback

    def price(self, model: str) -> Price:
        """The model's price, or the fallback."""
        return self.prices.get(model, self.fallback)

    @classmethod
    def load(
        cls, path: Path, fallback: Price, overrides: dict[str, dict[str, float]] | None = None
    ) -> PriceTable:
        """The refreshed table (if any) with ``overrides`` from the configuration on top."""
        table = {**_read_table(path), **(overrides or {})}
        try:
            prices = {
                s: Price(float(p["prompt"]), float(p["completion"])) for s, p in table.items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise AppError(
                f"The price table {path} is damaged: {exc}.",
                code="prices_invalid",
                hint="Run `editorial-assistant models refresh`.",
            ) from exc
        return cls(prices, fallback)


def _read_table(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8"))["models"])
    except FileNotFoundError:
        return {}
    except (ValueError, KeyError, TypeError) as exc:
        raise AppError(
            f"The price table {path} is damaged: {exc}.",
            code="prices_invalid",
            hint="Run `editorial-assistant models refresh`.",
        ) from exc


def refresh_prices(*, base_url: str, path: Path, now: datetime, api_key: str | None = None) -> int:
    """Fetch OpenRouter's model list and write the price table; return how many models."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(f"{base_url.rstrip('/')}/models", headers=headers, timeout=30)
        response.raise_for_status()
        models = _prices_from(response.json())
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise AppError(
            f"Could not read OpenRouter's model list: {exc}.",
            code="prices_refresh",
            hint="Check network access to OpenRouter; the old table is kept.",
        ) from exc
    temporary = path.with_suffix(".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary.write_text(
        json.dumps({"refreshed_at": timestamp(now), "models": models}, indent=1, sort_keys=True),
        encoding="utf-8",
    )
    os.replace(temporary, path)
    return len(models)


def _prices_from(body: dict[str, Any]) -> dict[str, dict[str, float]]:
    table = {}
    for model in body["data"]:
        pricing = model.get("pricing") or {}
        table[str(model["id"])] = {
            "prompt": float(pricing.get("prompt") or 0),
            "completion": float(pricing.get("completion") or 0),
        }
    return table
