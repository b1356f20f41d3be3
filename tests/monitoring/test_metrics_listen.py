"""``metrics.listen``: loopback only, or off."""

from __future__ import annotations

from pathlib import Path

import pytest

from editorial_assistant.errors import ConfigError
from tests.conftest import make_settings


@pytest.mark.parametrize("listen", ["0.0.0.0:9464", "192.0.2.7:9464", "[::]:9464", "9464"])
def test_a_listen_address_off_loopback_is_refused(tmp_path: Path, listen: str) -> None:
    with pytest.raises(ConfigError) as refused:
        make_settings(tmp_path, EA_METRICS_LISTEN=listen)
    assert f"metrics.listen = {listen!r}" in str(refused.value)
    assert "loopback" in str(refused.value)


@pytest.mark.parametrize(
    ("listen", "address"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("[::1]:9100", ("::1", 9100)),
        ("localhost:9200", ("127.0.0.1", 9200)),
        ("off", None),
        ("", None),
    ],
)
def test_a_loopback_address_or_off_is_accepted(
    tmp_path: Path, listen: str, address: tuple[str, int] | None
) -> None:
    assert make_settings(tmp_path, EA_METRICS_LISTEN=listen).metrics.address == address
