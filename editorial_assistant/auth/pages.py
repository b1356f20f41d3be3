"""The sign-in pages: a password form, and the button that spends a one-time sign-in link.

Rendered from the dashboard's templates (``web/templates/login.html``, ``login_link.html``) with
nobody signed in; every value is escaped. The forms carry no CSRF token — there is no session
yet — and are refused when a browser says they were sent from another site (``refuse_cross_site``).
"""

from __future__ import annotations

from editorial_assistant.web.render import environment


def _render(template: str, **context: object) -> str:
    return environment().get_template(template).render(viewer=None, nav=[], path="", **context)


def login_page(*, next_path: str = "/", error: str = "", username: str = "") -> str:
    """The password sign-in form."""
    return _render("login.html", next_path=next_path, error=error, username=username)


def link_page(*, token: str, error: str = "") -> str:
    """The page a one-time link opens: one button, so link previewers cannot spend it."""
    return _render("login_link.html", token=token, error=error)
