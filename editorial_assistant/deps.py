"""FastAPI dependencies shared by the routers: the settings, a connection, the queue, the clock."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime

from fastapi import Request

from editorial_assistant.config import Settings
from editorial_assistant.jobs.tasks import JobQueue


def settings(request: Request) -> Settings:
    """The application's settings."""
    return request.app.state.settings


def conn(request: Request) -> Iterator[sqlite3.Connection]:
    """A database connection lent to this request alone."""
    with request.app.state.db.borrow() as connection:
        yield connection


def queue(request: Request) -> JobQueue:
    """The job queue."""
    return request.app.state.queue


def now(request: Request) -> datetime:
    """The current time from the application's clock."""
    return request.app.state.clock()
