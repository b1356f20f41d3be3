"""The benchmark behind ``make bench``: real processes, same-run baselines, ratios not asserts.

``main`` parses flags and runs the scenarios; ``processes`` starts the API, the worker and the
minimal baseline app; ``queueing`` measures makespan and queue-to-start latency; ``listing``
measures ``GET /api/jobs`` against ``minimal_app``; ``pages`` measures the dashboard's queue page,
a job page and the live cursor against both; ``pipeline`` measures a batch's makespan on
the OpenRouter backend against the fake server of ``tests/fakes/openrouter.py`` and its ideal;
``loadgen`` drives HTTP load (wrk, else a Python fallback); ``report`` prints the table and
writes ``bench-results/*.json``.
"""
