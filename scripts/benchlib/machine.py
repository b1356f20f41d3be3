"""What the figures were measured on: the machine, the software and the service's settings."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("fastapi", "starlette", "pydantic", "uvicorn", "uvicorn-worker", "gunicorn", "huey")


def describe_machine(tool: str, tree: Path) -> dict[str, Any]:
    """CPU count and model, OS, Python, package versions, load generator, code revision."""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "os": _os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        "loadgen": _wrk_version() if tool == "wrk" else "python asyncio fallback",
        "tree": str(tree),
        "git": git_revision(tree),
    }


def effective_settings(env: dict[str, str], tree: Path) -> dict[str, Any]:
    """``editorial-assistant config show`` under the environment the services get."""
    done = subprocess.run(
        [sys.executable, "-m", "editorial_assistant", "config", "show"],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _os_name() -> str:
    try:
        fields = dict(
            line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if line
        )
    except OSError:
        return platform.platform()
    version = Path("/etc/debian_version")
    point = f" ({version.read_text().strip()})" if version.exists() else ""
    return fields.get("PRETTY_NAME", "unknown").strip('"') + point


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _wrk_version() -> str:
    wrk = shutil.which("wrk") or "wrk"
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    lines = (done.stdout or done.stderr).splitlines()
    return lines[0].split(" [")[0].strip() if lines else wrk


def git_revision(tree: Path) -> str:
    """HEAD plus ``+dirty`` when the tree has changes (read-only; takes no git locks)."""
    git = ["git", "--no-optional-locks", "-C", str(tree)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return "unknown"
    dirty = subprocess.run([*git, "diff", "--quiet", "HEAD"], capture_output=True).returncode
    return head.stdout.strip() + ("+dirty" if dirty else "")
