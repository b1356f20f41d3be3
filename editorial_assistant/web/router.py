"""The dashboard's pages, one router per page family, under one router for ``app.py``."""

from __future__ import annotations

from fastapi import APIRouter

from editorial_assistant.web import admin, costs_page, job, live, projects, queue, system

router = APIRouter(include_in_schema=False)
for module in (queue, job, projects, costs_page, system, admin, live):
    router.include_router(module.router)
