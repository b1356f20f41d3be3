"""Flags, the order of scenarios, and turning their results into the report.

Each scenario runs on its own fresh data folder with freshly started processes, except that the
pages scenario reuses the listing's seeded service when both run; nothing is mocked, and only
the pipeline scenario replaces a service (OpenRouter, by the fake server).
``--quick`` shortens everything for a smoke run; its figures are not for the record.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from benchlib import listing, pages, pipeline, queueing, report
from benchlib.client import Uploader, caption_bytes
from benchlib.loadgen import choose_tool
from benchlib.machine import describe_machine, effective_settings, git_revision
from benchlib.processes import REPO, BenchError, Service, environment, running_service

DESCRIPTION = (
    "Measure makespan, queue-to-start latency (warm and after idle), GET /api/jobs and the "
    "dashboard's pages against a minimal FastAPI endpoint and pipeline overhead against a fake "
    "OpenRouter, on real processes; see docs/benchmarks.md."
)
SCENARIOS = ("batch", "single", "idle", "listing", "pages", "pipeline")
# name: (full run, --quick)
DEFAULTS: dict[str, tuple[Any, Any]] = {
    "batches": ("10,50", "10,50"),
    "single_samples": (30, 8),
    "idle_seconds": (120.0, 5.0),
    "idle_gap_seconds": (15.0, 2.0),
    "idle_samples": (5, 3),
    "seed_jobs": (200, 60),
    "listing_seconds": (10.0, 3.0),
    "listing_rounds": (5, 1),
    "pages_rounds": (3, 1),
    "warmup_seconds": (2.0, 1.0),
    "pipeline_batches": ("10,50", "10,50"),
    "pipeline_latency": (1.0, 0.2),
}


def parser() -> argparse.ArgumentParser:
    """The command line of ``scripts/bench``."""
    p = argparse.ArgumentParser(prog="scripts/bench", description=DESCRIPTION)
    p.add_argument("--quick", action="store_true", help="short smoke run (idle 5 s, few samples)")
    p.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    p.add_argument("--batches", help="batch sizes submitted at once (default 10,50)")
    p.add_argument("--single-samples", type=int, help="warm single-job samples (default 30)")
    p.add_argument("--idle-seconds", type=float, help="idle before the first sample (default 120)")
    p.add_argument("--idle-gap-seconds", type=float, help="idle before later samples (default 15)")
    p.add_argument("--idle-samples", type=int, help="after-idle samples in all (default 5)")
    p.add_argument("--seed-jobs", type=int, help="jobs in the database for listing (default 200)")
    p.add_argument("--clients", type=int, default=50, help="concurrent listing clients")
    p.add_argument("--listing-seconds", type=float, help="length of one load round (default 10)")
    p.add_argument("--listing-rounds", type=int, help="rounds per server (default 5)")
    p.add_argument("--pages-rounds", type=int, help="rounds per target, pages (default 3)")
    p.add_argument("--warmup-seconds", type=float, help="load before measuring (default 2)")
    p.add_argument("--pipeline-batches", help="pipeline batch sizes (default 10,50)")
    p.add_argument(
        "--pipeline-latency", type=float, help="fake OpenRouter seconds per call (default 1)"
    )
    p.add_argument("--api-workers", type=int, default=2, help="gunicorn workers for both servers")
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="EA_NAME=VALUE",
        help="environment for the services, e.g. EA_WORKER_POLL_INTERVAL_SECONDS=1",
    )
    p.add_argument(
        "--tree",
        type=Path,
        default=REPO,
        help="run the service from this source tree (e.g. a git worktree) instead of this one",
    )
    p.add_argument("--output", type=Path, default=REPO / "bench-results", help="JSON folder")
    p.add_argument("--keep", action="store_true", help="keep the data folders and process logs")
    return p


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Flags with the full-run or ``--quick`` defaults filled in."""
    args = parser().parse_args(argv)
    for name, (full, quick) in DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    args.batches = [int(n) for n in str(args.batches).split(",") if n]
    args.pipeline_batches = [int(n) for n in str(args.pipeline_batches).split(",") if n]
    args.only = [name for name in args.only.split(",") if name]
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        parser().error(f"unknown scenario(s) {', '.join(sorted(unknown))}; use {SCENARIOS}")
    if any("=" not in item for item in args.set):
        parser().error("--set takes EA_NAME=VALUE")
    args.overrides = dict(item.split("=", 1) for item in args.set)
    args.tree = args.tree.resolve()
    if not (args.tree / "editorial_assistant").is_dir():
        parser().error(f"--tree {args.tree} has no editorial_assistant package")
    return args


class Run:
    """One benchmark run: its flags, scratch folder, caption and everything measured."""

    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.args, self.root = args, root
        # Other work may land in the tree during a long run; the report shows both revisions.
        self.git_at_start = git_revision(args.tree)
        self.caption, caption_source = caption_bytes()
        self.tool = choose_tool(args.loadgen)
        self.memory: dict[str, dict[str, int]] = {}
        self.signed_in: dict[str, bool] = {}
        self.exceptions: dict[str, dict[str, dict[str, int]]] = {}
        self.scenarios: dict[str, Any] = {}
        self.caption_label = f"{caption_source} ({len(self.caption):,} bytes)"

    def service(
        self, name: str, env: dict[str, str] | None = None
    ) -> AbstractContextManager[Service]:
        """Fresh processes on a fresh data folder for one scenario (``--set`` wins over env)."""
        return running_service(
            self.root / name,
            tree=self.args.tree,
            api_workers=self.args.api_workers,
            overrides={**(env or {}), **self.args.overrides},
        )

    def run_all(self) -> None:
        """The scenarios asked for, in order."""
        only = self.args.only
        if "batch" in only:
            self.scenarios["batches"] = [self.batch(size) for size in self.args.batches]
        if "single" in only:
            self.scenarios["single"] = self.single()
        if "idle" in only:
            self.scenarios["idle"] = self.idle()
        if "listing" in only or "pages" in only:
            self.listing_and_pages(with_listing="listing" in only, with_pages="pages" in only)
        if "pipeline" in only:
            sizes = self.args.pipeline_batches
            self.scenarios["pipeline"] = [self.pipeline(size) for size in sizes]

    def batch(self, size: int) -> dict[str, Any]:
        """Scenarios a and b: ``size`` jobs submitted at once."""
        with self.service(f"batch-{size}") as service:
            result = queueing.batch(service, Uploader(self.caption), size)
            self.record(f"batch of {size}", service)
        return result

    def single(self) -> dict[str, Any]:
        """Scenario c: one job at a time on a warm queue."""
        with self.service("single") as service:
            result = queueing.single(service, Uploader(self.caption), self.args.single_samples)
            self.record("single jobs", service)
        return result

    def idle(self) -> dict[str, Any]:
        """Scenario d: jobs that arrive after the queue sat idle."""
        with self.service("idle") as service:
            result = queueing.after_idle(
                service,
                Uploader(self.caption),
                idle_seconds=self.args.idle_seconds,
                gap_seconds=self.args.idle_gap_seconds,
                samples=self.args.idle_samples,
            )
            self.record("after idle", service)
        return result

    def listing_and_pages(self, *, with_listing: bool, with_pages: bool) -> None:
        """The jobs listing, the dashboard's pages, or both, on one seeded database."""
        with self.service("listing" if with_listing else "pages") as service:
            uploader = Uploader(self.caption)
            listing.seed(service, uploader, self.args.seed_jobs)
            minimal_url = listing.start_minimal(service, workers=service.api_workers)
            if with_listing:
                result = listing.measure(service, minimal_url, **self.load("listing"))
                self.scenarios["listing"] = {
                    **result,
                    "seed_failed_uploads": uploader.failed_uploads,
                }
                self.record("listing (after load)", service)
            if with_pages:
                result = pages.measure(service, minimal_url, **self.load("pages"))
                failed = 0 if with_listing else uploader.failed_uploads
                self.scenarios["pages"] = {**result, "seed_failed_uploads": failed}
                self.record("pages (after load)", service)

    def load(self, scenario: str) -> dict[str, Any]:
        """How hard and how long to load each target in ``scenario``'s alternating rounds."""
        args = self.args
        return {
            "tool": self.tool,
            "clients": args.clients,
            "seconds": args.listing_seconds,
            "rounds": getattr(args, f"{scenario}_rounds"),
            "warmup": args.warmup_seconds,
        }

    def pipeline(self, size: int) -> dict[str, Any]:
        """``size`` jobs at once on the OpenRouter backend against a fake with fixed latency."""
        latency = self.args.pipeline_latency
        with (
            pipeline.TimedFake(latency=latency) as fake,
            self.service(f"pipeline-{size}", pipeline.service_env(fake)) as service,
        ):
            result = pipeline.batch(service, fake, Uploader(self.caption), size, latency=latency)
            self.record(f"pipeline, {size} jobs", service)
        return result

    def record(self, label: str, service: Service) -> None:
        """Keep a scenario's peak memory, whether it sent a key, and any exceptions logged."""
        self.memory[label] = service.peak_rss_kib()
        self.signed_in[label] = service.api_key is not None
        if found := service.exceptions():
            self.exceptions[label] = found

    def results(self) -> dict[str, Any]:
        """Everything measured, with the context needed to read it later."""
        env = environment(self.root / "config-check", self.args.overrides)
        found: dict[str, Any] = {
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "quick": self.args.quick,
            "machine": describe_machine(self.tool, self.args.tree),
            "git_at_start": self.git_at_start,
            "settings": effective_settings(env, self.args.tree),
            "overrides": self.args.overrides,
            "api_workers": self.args.api_workers,
            "caption": self.caption_label,
            "signed_in_with_admin_api_key": self.signed_in,
            "scenarios": self.scenarios,
            "memory_kib": self.memory,
            "exceptions_in_logs": self.exceptions,
        }
        found["targets"] = report.targets(found)
        return found


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (targets met or not), 1 when it broke."""
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="ea-bench-"))
    try:
        run = Run(args, root)
        run.run_all()
        (root / "config-check").mkdir()
        results = run.results()
    except (BenchError, httpx.HTTPError) as exc:
        print(f"bench: the benchmark broke: {exc}\nbench: logs kept in {root}", file=sys.stderr)
        return 1
    print(report.render(results), end="")
    print(f"\nraw results: {report.write_json(results, args.output)}")
    if args.keep:
        print(f"data folders and process logs kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 0
