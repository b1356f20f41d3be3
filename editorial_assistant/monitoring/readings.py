"""Disk and memory readings without Prometheus: the data folder's filesystem, the service's
memory and the host's, for the metrics (``resources.py``), ``status`` and the monitor alike.

Under systemd the service's memory is each unit's cgroup (``memory.current``, cgroup v2: the
figure ``systemctl status`` shows), for this unit and every ``editorial-assistant-*.service``
beside it; elsewhere it is the resident memory of this process and its children. The host's
memory comes from ``/proc/meminfo``. The units hide that file (``ProcSubset=pid``), so there
the per-node files in ``/sys/devices/system/node`` stand in, with "available" estimated as
the kernel does, less its small reserve: free memory, file cache and reclaimable slab.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

ROOT = Path("/")
UNIT_PREFIX = "editorial-assistant-"
OUTSIDE_SYSTEMD = "editorial-assistant"
RECLAIMABLE = ("MemFree", "Active(file)", "Inactive(file)", "SReclaimable")


def disk_usage(path: Path) -> tuple[int, int, int]:
    """Size, used and available bytes of the filesystem holding ``path`` (as ``df`` counts)."""
    stat = os.statvfs(path)
    size = stat.f_blocks * stat.f_frsize
    return size, (stat.f_blocks - stat.f_bfree) * stat.f_frsize, stat.f_bavail * stat.f_frsize


def used_ratio(used: int, available: int) -> float:
    """How full, as df's Use% counts it: the root-reserved blocks are not ours to fill."""
    return used / (used + available) if used + available else 0.0


def memory_used_ratio(total: int, available: int) -> float:
    """1 - available / total."""
    return 1 - available / total if total else 0.0


def service_memory(*, root: Path = ROOT) -> dict[str, tuple[int, int | None]]:
    """Bytes in use and the limit (None: no limit), by unit; outside systemd, one entry."""
    cgroup = _own_cgroup(root / "proc")
    found: dict[str, tuple[int, int | None] | None] = {}
    if cgroup is not None and cgroup.endswith(".service"):
        own = root / "sys" / "fs" / "cgroup" / cgroup.lstrip("/")
        units = [own]
        if own.name.startswith(UNIT_PREFIX):
            units = sorted(own.parent.glob(f"{UNIT_PREFIX}*.service"))
        found = {unit.name: _cgroup_memory(unit) for unit in units}
    usage = {name: value for name, value in found.items() if value is not None}
    return usage or {OUTSIDE_SYSTEMD: (_tree_rss(root / "proc", os.getpid()), None)}


def host_memory(*, root: Path = ROOT) -> tuple[int, int] | None:
    """The host's total and available memory in bytes, if it can be read."""
    fields = _meminfo([root / "proc" / "meminfo"])
    if "MemTotal" in fields and "MemAvailable" in fields:
        return fields["MemTotal"], fields["MemAvailable"]
    nodes = _meminfo(sorted((root / "sys/devices/system/node").glob("node[0-9]*/meminfo")))
    if not nodes.get("MemTotal"):
        return None
    available = sum(nodes.get(name, 0) for name in RECLAIMABLE)
    return nodes["MemTotal"], min(available, nodes["MemTotal"])


def _own_cgroup(proc: Path) -> str | None:
    """This process's cgroup v2 path (``/system.slice/x.service``), if there is one."""
    try:
        lines = (proc / "self" / "cgroup").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    return next((line[3:] for line in lines if line.startswith("0::")), None)


def _cgroup_memory(folder: Path) -> tuple[int, int | None] | None:
    try:
        current = int((folder / "memory.current").read_text(encoding="utf-8"))
        maximum = (folder / "memory.max").read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        return None
    return current, int(maximum) if maximum.isdigit() else None


def _tree_rss(proc: Path, pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        total += _meminfo([proc / str(current) / "status"]).get("VmRSS", 0)
        for children in (proc / str(current) / "task").glob("*/children"):
            try:
                pending.extend(int(child) for child in children.read_text().split())
            except (OSError, ValueError):
                continue
    return total


def _meminfo(files: Iterable[Path]) -> dict[str, int]:
    """``Name: N kB`` lines (``/proc/meminfo``, a node's ``meminfo``, a process's ``status``),
    summed over the files, in bytes."""
    fields: dict[str, int] = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        for line in text.splitlines():
            name, _, value = line.partition(":")
            parts = value.split()
            if name and parts and parts[0].isdigit():
                key = name.split()[-1]
                scale = 1024 if parts[-1] == "kB" else 1
                fields[key] = fields.get(key, 0) + int(parts[0]) * scale
    return fields
