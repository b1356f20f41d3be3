"""Drafts as HTML: Markdown rendered with raw HTML off, then sanitised against an allow-list.

A draft is model output, so it is treated as hostile. markdown-it renders CommonMark (plus tables
and strikethrough) with ``html`` off, so any tag in the draft stays visible text. nh3 then keeps
only the tags and attributes below; a link keeps its ``href`` only when it is an absolute
``http``, ``https`` or ``mailto`` URL (no relative, protocol-relative, ``javascript:`` or
``data:`` links) and gets ``rel="noopener noreferrer nofollow"``. Images become their alt text
(a draft has no business loading anything). Headings move down so a draft's ``#`` sits below the
page's own headings. This is the one place ``Markup`` is made: nothing else may mark text safe.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markupsafe import Markup

TAGS = frozenset(
    {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code"}
    | {"pre", "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td"}
)
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"
RENDERED_DRAFTS = 64  # a few open jobs' drafts; a long formatted transcript renders to ~100 kB
SAFE_URL = re.compile(r"(?:https?|mailto):[^\s\x00-\x1f\x7f]+", re.IGNORECASE)


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    """CommonMark with tables and strikethrough; raw HTML is text, images are their alt text."""
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.add_render_rule("image", _image_as_text)
    return md


@lru_cache(maxsize=RENDERED_DRAFTS)
def render_markdown(text: str, *, heading_offset: int = 0) -> Markup:
    """Sanitised HTML for a Markdown draft; ``#`` becomes ``h{1 + heading_offset}`` (h6 at most).

    Drafts do not change once written and a job's page is fetched again and again while the
    worker runs it, so the last few renderings are kept (keyed by the text itself).
    """
    md = parser()
    tokens = md.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + heading_offset, 6)}"
    return Markup(sanitise(md.renderer.render(tokens, md.options, {})))


def sanitise(html: str) -> str:
    """``html`` with only the allowed tags, attributes and link targets left."""
    return nh3.clean(
        html,
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        attribute_filter=_keep_attribute,
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "href":
        return value if SAFE_URL.fullmatch(value) else None
    return value


def _image_as_text(self: Any, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    return escapeHtml(self.renderInlineAsText(token.children or [], options, env))
