"""Where a warning becomes a failure: the fixed limits ``status`` and ``doctor`` use.

The warning limits are settings in ``[monitor]`` (``disk_ratio``, ``memory_ratio``,
``budget_warn_ratio``, ``queue_depth``) so a status line and an alert never disagree; these
are the points past which something has stopped, not merely worth a look. Ratios are
fractions (0.95 is 95 %).
"""

from __future__ import annotations

DISK_FAIL = 0.95  # SQLite, the queue and the backups need room to write; a full disk is close
BUDGET_FAIL = 1.0  # the month's budget is spent: the pipeline refuses new LLM calls
