"""Disk and memory as Prometheus gauges, read when scraped (the readings are in ``readings.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily, Metric

from editorial_assistant.config import Settings
from editorial_assistant.monitoring.readings import (
    ROOT,
    disk_usage,
    host_memory,
    memory_used_ratio,
    service_memory,
    used_ratio,
)

P = "editorial_assistant_"


class ResourceCollector:
    """Disk and memory gauges, read at each scrape."""

    def __init__(self, settings: Settings, *, root: Path = ROOT) -> None:
        self.data_dir, self.root = settings.data_dir, root

    def collect(self) -> Iterator[Metric]:
        """The data folder's filesystem, the service's memory and the host's."""
        yield from disk_metrics(self.data_dir)
        yield from service_memory_metrics(service_memory(root=self.root))
        host = host_memory(root=self.root)
        if host is not None:
            yield from host_memory_metrics(*host)


def disk_metrics(data_dir: Path) -> Iterator[Metric]:
    """Gauges for the data folder's filesystem (nothing while the folder does not exist)."""
    if not data_dir.is_dir():
        return
    size, used, available = disk_usage(data_dir)
    ratio = used_ratio(used, available)
    yield _gauge("disk_size_bytes", "Size of the data folder's filesystem.", size)
    yield _gauge("disk_used_bytes", "Bytes used on the data folder's filesystem.", used)
    yield _gauge("disk_available_bytes", "Bytes the service may still write there.", available)
    yield _gauge("disk_used_ratio", "used / (used + available), as df's Use%.", ratio)


def service_memory_metrics(units: dict[str, tuple[int, int | None]]) -> Iterator[Metric]:
    """Gauges for the service's memory, by unit."""
    used = GaugeMetricFamily(
        f"{P}service_memory_bytes", "Memory the service uses, by systemd unit.", labels=["unit"]
    )
    limit = GaugeMetricFamily(
        f"{P}service_memory_limit_bytes",
        "The unit's MemoryMax=, where one is set.",
        labels=["unit"],
    )
    for unit, (current, maximum) in units.items():
        used.add_metric([unit], current)
        if maximum is not None:
            limit.add_metric([unit], maximum)
    yield used
    yield limit


def host_memory_metrics(total: int, available: int) -> Iterator[Metric]:
    """Gauges for the host's memory."""
    yield _gauge("host_memory_total_bytes", "The host's memory.", total)
    yield _gauge("host_memory_available_bytes", "Memory the host can still give out.", available)
    ratio = memory_used_ratio(total, available)
    yield _gauge("host_memory_used_ratio", "1 - available / total.", ratio)


def _gauge(name: str, meaning: str, value: float) -> Metric:
    family = GaugeMetricFamily(f"{P}{name}", meaning)
    family.add_metric([], value)
    return family
