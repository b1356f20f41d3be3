"""FastAPI dependencies shared by the routers: the settings, a connection, the queue, the clock.

They are ``async`` because none of them blocks (a connection is taken from an idle pool), and a
plain ``def`` dependency costs a trip to the threadpool on entry and another on exit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime

from fastapi import Request

from editorial_assistant.audit.service import Who
from editorial_assistant.config import Settings
from editorial_assistant.jobs.tasks import JobQueue


async def settings(request: Request) -> Settings:
    """The application's settings."""
    return request.app.state.settings


async def conn(request: Request) -> AsyncIterator[sqlite3.Connection]:
    """A database connection lent to this request alone."""
    with request.app.state.db.borrow() as connection:
        yield connection


async def queue(request: Request) -> JobQueue:
    """The job queue."""
    return request.app.state.queue


async def now(request: Request) -> datetime:
    """The current time from the application's clock."""
    return request.app.state.clock()


async def who(request: Request) -> Who:
    """Who is behind this request, for the audit log (set by the route's access rule)."""
    return request.state.who
