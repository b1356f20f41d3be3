"""Memory as the units see it: cgroups under systemd, the per-node files where /proc hides meminfo.

The readers take the filesystem root, so these tests give them a small tree laid out as
systemd and the kernel lay it out.
"""

from __future__ import annotations

from pathlib import Path

from editorial_assistant.monitoring.readings import host_memory, service_memory

NODE = """Node 0 MemTotal:        4000000 kB
Node 0 MemFree:          500000 kB
Node 0 MemUsed:         3500000 kB
Node 0 Active(file):     700000 kB
Node 0 Inactive(file):   300000 kB
Node 0 Active(anon):    1500000 kB
Node 0 SReclaimable:     100000 kB
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_under_systemd_it_reads_every_editorial_assistant_units_cgroup(tmp_path: Path) -> None:
    write(tmp_path / "proc/self/cgroup", "0::/system.slice/editorial-assistant-api.service\n")
    slice_ = tmp_path / "sys/fs/cgroup/system.slice"
    write(slice_ / "editorial-assistant-api.service/memory.current", "150000000\n")
    write(slice_ / "editorial-assistant-api.service/memory.max", "max\n")
    write(slice_ / "editorial-assistant-worker.service/memory.current", "400000000\n")
    write(slice_ / "editorial-assistant-worker.service/memory.max", "1073741824\n")
    write(slice_ / "cron.service/memory.current", "5000000\n")
    assert service_memory(root=tmp_path) == {
        "editorial-assistant-api.service": (150_000_000, None),
        "editorial-assistant-worker.service": (400_000_000, 1_073_741_824),
    }


def test_outside_systemd_it_counts_this_process_tree() -> None:
    found = service_memory()
    (name,) = found
    if name == "editorial-assistant":
        assert found[name][0] > 10_000_000


def test_where_proc_meminfo_is_hidden_the_nodes_stand_in(tmp_path: Path) -> None:
    write(tmp_path / "sys/devices/system/node/node0/meminfo", NODE)
    write(tmp_path / "sys/devices/system/node/node1/meminfo", NODE.replace("Node 0", "Node 1"))
    total, available = host_memory(root=tmp_path) or (0, 0)
    assert total == 2 * 4_000_000 * 1024
    # free + file cache + reclaimable slab, on both nodes
    assert available == 2 * (500_000 + 700_000 + 300_000 + 100_000) * 1024


def test_proc_meminfo_wins_when_it_can_be_read(tmp_path: Path) -> None:
    write(tmp_path / "proc/meminfo", "MemTotal: 2000 kB\nMemFree: 100 kB\nMemAvailable: 900 kB\n")
    write(tmp_path / "sys/devices/system/node/node0/meminfo", NODE)
    assert host_memory(root=tmp_path) == (2000 * 1024, 900 * 1024)


def test_with_neither_the_host_memory_is_unknown(tmp_path: Path) -> None:
    assert host_memory(root=tmp_path) is None
