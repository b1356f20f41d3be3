"""The pages scenario: the dashboard's queue page, a job page and the live cursor under load.

On the listing scenario's seeded database (the same service when both run), five targets are
loaded in alternating rounds with ``listing.alternate``: the minimal app's listing (the same-run
baseline), the product's ``GET /api/jobs?limit=20``, ``GET /`` (the queue page, 25 rows), the
page of the newest completed job with drafts, and ``GET /live`` asked for JSON, as the page
polls it when Server-Sent Events fail. Each is reported against the minimal app and against the
product's listing, with the size of each answer. Pages are fetched with the scenario's admin API
key (the dashboard renders for keys as for sessions) and ``Accept: text/html``, as the page's
own refresh sends it.
"""

from __future__ import annotations

from typing import Any

import httpx

from benchlib.listing import Target, alternate, baseline_targets, median_round
from benchlib.processes import BenchError, Service, check_alive
from benchlib.stats import ratio

QUEUE_ROWS = 25  # web.queue.PER_PAGE
HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}


def measure(
    service: Service,
    minimal_url: str,
    *,
    tool: str,
    clients: int,
    seconds: float,
    rounds: int,
    warmup: float,
) -> dict[str, Any]:
    """Alternate load rounds on the baselines and the three pages; medians, ratios and sizes."""
    job_id, drafts = completed_job_with_drafts(service)
    targets = page_targets(service, minimal_url, job_id)
    sizes = {name: answer_size(name, target) for name, target in targets.items()}
    runs = alternate(
        targets,
        label="pages",
        tool=tool,
        clients=clients,
        seconds=seconds,
        rounds=rounds,
        warmup=warmup,
    )
    check_alive(service)
    medians = {name: median_round(results) for name, results in runs.items()}
    return {
        "tool": tool,
        "clients": clients,
        "seconds": seconds,
        "paths": {
            name: target.url.removeprefix(service.base_url) for name, target in targets.items()
        },
        "job_id": job_id,
        "job_drafts": drafts,
        "bytes": sizes,
        "medians": medians,
        "ratios": ratios(medians),
        "rounds": {name: [r.as_dict() for r in results] for name, results in runs.items()},
    }


def completed_job_with_drafts(service: Service) -> tuple[int, int]:
    """The newest completed job that has drafts, and how many it has."""
    with httpx.Client(base_url=service.base_url, headers=service.headers, timeout=10) as client:
        listed = client.get("/api/jobs", params={"status": "completed", "limit": 20}).json()
        for row in listed["jobs"]:
            outputs = client.get(f"/api/jobs/{row['id']}").json()["outputs"]
            if outputs:
                return int(row["id"]), len(outputs)
    raise BenchError("no completed job with drafts among the newest 20 completed jobs")


def page_targets(service: Service, minimal_url: str, job_id: int) -> dict[str, Target]:
    """The two listing baselines, then the queue page, the job page and the live cursor."""
    baselines = baseline_targets(service, minimal_url)
    key, base = service.headers, service.base_url
    return {
        "minimal": baselines["minimal"],
        "listing": baselines["product"],
        "queue": Target(f"{base}/", {**key, **HTML}),
        "job": Target(f"{base}/jobs/{job_id}", {**key, **HTML}),
        "live": Target(f"{base}/live?cursor={live_cursor(service)}", {**key, **JSON}),
    }


def live_cursor(service: Service) -> int:
    """The cursor the queue page would poll with: the newest job event's id."""
    answer = httpx.get(f"{service.base_url}/live", headers={**service.headers, **JSON}, timeout=10)
    if answer.status_code != 200:
        raise BenchError(f"GET /live: {answer.status_code} {answer.text[:300]}")
    return int(answer.json()["cursor"])


def answer_size(name: str, target: Target) -> int:
    """Bytes of one answer's body, after checking it is the page or JSON the load will get.

    wrk counts a redirect as a success, so a page that sent the load to /login would measure
    the redirect; a 200 of the right type (and 25 rows on the queue page) rules that out.
    """
    answer = httpx.get(target.url, headers=target.headers, timeout=10)
    wanted = "text/html" if target.headers.get("Accept") == HTML["Accept"] else "application/json"
    if answer.status_code != 200 or not answer.headers["content-type"].startswith(wanted):
        kind = answer.headers.get("content-type")
        raise BenchError(f"{name}: GET {target.url} answered {answer.status_code} {kind}")
    rows = answer.text.count('<tr id="job-')
    if name == "queue" and rows != QUEUE_ROWS:
        raise BenchError(f"the queue page shows {rows} jobs, not {QUEUE_ROWS}")
    return len(answer.content)


def ratios(medians: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Each page's requests/s over the minimal app's and over the product listing's."""
    return {
        name: {
            "minimal": ratio(medians[name]["rps"], medians["minimal"]["rps"]),
            "listing": ratio(medians[name]["rps"], medians["listing"]["rps"]),
        }
        for name in ("listing", "queue", "job", "live")
    }
