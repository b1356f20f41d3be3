"""The sign-in pages: a password form, and the button that spends a one-time sign-in link.

Plain HTML with every value escaped, no scripts, styled by the dashboard's stylesheet.
"""

from __future__ import annotations

from html import escape


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport "
        "content='width=device-width,initial-scale=1'><link rel=stylesheet href=/static/app.css>"
        f"<title>{escape(title)} – Editorial Assistant</title></head><body>"
        f"<main class=narrow><h1>Editorial Assistant</h1>{body}</main></body></html>"
    )


def login_page(*, next_path: str = "/", error: str = "", username: str = "") -> str:
    """The password sign-in form."""
    problem = f"<p class=error role=alert>{escape(error)}</p>" if error else ""
    return _page(
        "Sign in",
        f"<h2>Sign in</h2>{problem}<form method=post action=/login>"
        f"<input type=hidden name=next value='{escape(next_path, quote=True)}'>"
        "<p><label>Username<br><input name=username autocomplete=username required "
        f"maxlength=64 value='{escape(username, quote=True)}' autofocus></label></p>"
        "<p><label>Password<br><input name=password type=password required maxlength=256 "
        "autocomplete=current-password></label></p><p><button>Sign in</button></p></form>",
    )


def link_page(*, token: str, error: str = "") -> str:
    """The page a one-time link opens: one button, so link previewers cannot spend it."""
    if error:
        return _page("Sign-in link", f"<p class=error role=alert>{escape(error)}</p>")
    return _page(
        "Sign-in link",
        "<p>This one-time link signs you in on this browser.</p><form method=post "
        f"action=/login/link><input type=hidden name=token value='{escape(token, quote=True)}'>"
        "<button>Sign in</button></form>",
    )
