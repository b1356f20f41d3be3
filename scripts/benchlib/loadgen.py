"""HTTP load at one URL from N concurrent keep-alive connections: ``wrk`` if installed, else a
small asyncio client.

wrk is preferred: it is C and uses little of the two cores the servers need. The Python
fallback speaks raw HTTP/1.1 over asyncio streams (no httpx per request) but still takes a
noticeable share of a core, so its figures are lower; the ratio between servers stays fair
because both are measured the same way.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from benchlib.processes import BenchError
from benchlib.stats import percentile

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class LoadResult:
    """What one load run measured."""

    tool: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the JSON report."""
        return asdict(self)


def choose_tool(preference: str) -> str:
    """``wrk`` or ``python``; ``auto`` picks wrk when it is on the PATH."""
    if preference == "wrk" and not shutil.which("wrk"):
        raise BenchError("--loadgen wrk but wrk is not installed (apt-get install wrk)")
    if preference == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    return preference


def run_load(
    tool: str, url: str, *, clients: int, seconds: float, headers: dict[str, str]
) -> LoadResult:
    """Drive ``clients`` connections at ``url`` for ``seconds``, each request with ``headers``."""
    if tool == "wrk":
        return run_wrk(url, clients=clients, seconds=seconds, headers=headers)
    return asyncio.run(run_python(url, clients=clients, seconds=seconds, headers=headers))


def run_wrk(url: str, *, clients: int, seconds: float, headers: dict[str, str]) -> LoadResult:
    """One wrk run (two threads, latency distribution on)."""
    command = ["wrk", "-t2", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run([*command, "--latency", url], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk failed: {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def parse_wrk(output: str) -> LoadResult:
    """The figures from wrk's text report."""
    found = re.search(r"(\d+) requests in ([\d.]+)(\w+),", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not found or not rps:
        raise BenchError(f"cannot read wrk's output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in sockets.groups()) if sockets else 0
    return LoadResult(
        tool="wrk",
        requests=int(found.group(1)),
        seconds=float(found.group(2)) * UNITS_MS[found.group(3)] / 1000,
        rps=float(rps.group(1)),
        p50_ms=_wrk_latency(output, "50%"),
        p99_ms=_wrk_latency(output, "99%"),
        errors=errors,
    )


def _wrk_latency(output: str, label: str) -> float:
    found = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
    if not found:
        raise BenchError(f"wrk's output has no {label} latency:\n{output}")
    return float(found.group(1)) * UNITS_MS[found.group(2)]


async def run_python(
    url: str, *, clients: int, seconds: float, headers: dict[str, str]
) -> LoadResult:
    """The fallback load generator: ``clients`` asyncio connections, keep-alive, GET only."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    samples: list[float] = []
    errors: list[int] = []
    began = time.perf_counter()
    deadline = began + seconds
    await asyncio.gather(
        *(
            _connection(
                parts.hostname or "127.0.0.1", parts.port or 80, request, deadline, samples, errors
            )
            for _ in range(clients)
        )
    )
    elapsed = time.perf_counter() - began
    return LoadResult(
        tool="python",
        requests=len(samples),
        seconds=elapsed,
        rps=len(samples) / elapsed,
        p50_ms=percentile(samples, 50),
        p99_ms=percentile(samples, 99),
        errors=len(errors),
    )


async def _connection(
    host: str, port: int, request: bytes, deadline: float, samples: list[float], errors: list[int]
) -> None:
    while time.perf_counter() < deadline:
        try:
            await _keep_alive(host, port, request, deadline, samples, errors)
        except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
            errors.append(0)  # a dropped connection or garbled response; open a new one


async def _keep_alive(
    host: str, port: int, request: bytes, deadline: float, samples: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            samples.append((time.perf_counter() - started) * 1000)
            if not 200 <= status < 400:
                errors.append(status)
    finally:
        writer.close()


async def _read_response(reader: asyncio.StreamReader) -> int:
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status
