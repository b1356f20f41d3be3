"""Drafts rendered from Markdown: formatting kept, anything that could run or leak made inert."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest
from markupsafe import Markup

from editorial_assistant.web.markdown import render_markdown

HOSTILE = """# Title <script>alert('title')</script>

<script>alert(1)</script>

<img src=x onerror=alert(1)>

<a href="javascript:alert(1)">raw anchor</a>

[lower](javascript:alert(1)) [mixed](JaVaScRiPt:alert(1))
[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
[vb](vbscript:msgbox(1)) [tab](java&#x09;script:alert(1)) [entity](&#106;avascript:alert(1))
[spaced](<javascript:alert(1)>) [relative](/api/auth/logout) [protocol](//evil.example/x)
<javascript:alert(1)> <https://station.example/ok> <mailto:editor@station.example>
![image](x" onerror="alert(1)) ![pixel](https://tracker.example/p.gif)
[quoted](https://a.example/"onmouseover="alert(1))

Reference tricks: [ref][evil], [evil], [titled][titled] and [fine][fine].

[fine]: https://c.example/page

[titled]: https://b.example/ "t\\" onclick=\\"alert(1)"

[evil]: javascript:alert(1)
"""


class Elements(HTMLParser):
    """Every start tag and its attributes, and the text, of an HTML fragment."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_inert(html: str) -> None:
    """No script, no image, no event handler, and every link target plainly http(s) or mailto."""
    parsed = Elements(html)
    names = [tag for tag, _ in parsed.tags]
    assert "script" not in names and "img" not in names and "iframe" not in names
    for tag, attrs in parsed.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        assert "style" not in attrs and "src" not in attrs, (tag, attrs)
        if "href" in attrs:
            # What a browser would see once it drops whitespace and control characters.
            target = re.sub(r"[\s\x00-\x1f]", "", unquote(attrs["href"])).lower()
            assert re.match(r"^(https?|mailto):", target), attrs["href"]
            assert not target.startswith(("javascript:", "data:", "vbscript:")), attrs["href"]


def test_it_returns_markup_so_the_template_keeps_it() -> None:
    assert isinstance(render_markdown("**bold**"), Markup)
    assert str(render_markdown("**bold**")) == "<p><strong>bold</strong></p>\n"


def test_it_keeps_the_formatting_drafts_use() -> None:
    html = str(
        render_markdown(
            "# SEO\n\n## Title\n\n- *one*\n- ~~two~~\n\n3. three\n\n> quote\n\n`code`\n\n"
            "| a | b |\n|--:|---|\n| 1 | 2 |\n"
        )
    )
    for fragment in ("<h1>SEO</h1>", "<h2>Title</h2>", "<em>one</em>", "<s>two</s>"):
        assert fragment in html
    assert '<ol start="3">' in html and "<blockquote>" in html and "<code>code</code>" in html
    assert "<table>" in html and "<td>1</td>" in html
    assert "style=" not in html  # the policy forbids inline style; alignment is dropped


def test_headings_move_down_below_the_page_headings() -> None:
    html = str(render_markdown("# One\n\n## Two\n\n#### Four", heading_offset=3))
    assert "<h4>One</h4>" in html and "<h5>Two</h5>" in html and "<h6>Four</h6>" in html
    assert "<h1>" not in html


def test_a_hostile_draft_renders_inert() -> None:
    html = str(render_markdown(HOSTILE, heading_offset=3))
    assert_inert(html)
    text = "".join(Elements(html).text)
    assert "<script>alert(1)</script>" in text  # shown to the editor as text, not run
    assert "<img src=x onerror=alert(1)>" in text
    assert '<a href="javascript:alert(1)">raw anchor</a>' in text


def test_only_absolute_http_and_mailto_links_keep_their_target() -> None:
    links = [attrs for tag, attrs in Elements(str(render_markdown(HOSTILE))).tags if tag == "a"]
    targets = sorted(attrs["href"] for attrs in links if "href" in attrs)
    assert targets == [
        "https://a.example/%22onmouseover=%22alert(1)",
        "https://b.example/",
        "https://c.example/page",
        "https://station.example/ok",
        "mailto:editor@station.example",
    ]
    assert all(attrs["rel"] == "noopener noreferrer nofollow" for attrs in links)


@pytest.mark.parametrize(
    "markdown",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](data:image/png;base64,iVBORw0KGgo=)",
        "[x](vbscript:msgbox(1))",
        "[x](/relative/path)",
        "[x](//evil.example/x)",
        "[x](#fragment)",
        "[x][r]\n\n[r]: javascript:alert(1)",
        "<a href='https://fine.example/'>raw anchors stay text</a>",
    ],
)
def test_a_link_that_is_not_plainly_http_or_mailto_goes_nowhere(markdown: str) -> None:
    html = str(render_markdown(markdown))
    assert_inert(html)
    assert not [attrs for _, attrs in Elements(html).tags if "href" in attrs]


def test_images_become_their_alt_text() -> None:
    html = str(render_markdown("![A *quilt* <b>show</b>](https://x.example/q.png)"))
    assert "<img" not in html and "q.png" not in html
    assert "A quilt &lt;b&gt;show&lt;/b&gt;" in html
