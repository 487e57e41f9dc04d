"""Markdown keeps what an editor means and loses anything active."""

from __future__ import annotations

import pytest

from feeds.rendering import render_markdown
from tests.fixtures.html_safety import active_content


def test_formatting_links_lists_quotes_and_images_survive():
    html = render_markdown(
        "**bold** _em_ [site](https://example.com)\n\n- a\n- b\n\n> quoted\n\n![alt](https://example.com/p.jpg)"
    )
    assert "<strong>bold</strong>" in html and "<em>em</em>" in html
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow ugc">site</a>' in html
    assert "<ul>" in html and "<li>a</li>" in html
    assert "<blockquote>" in html
    assert '<img src="https://example.com/p.jpg" alt="alt">' in html


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<iframe src='https://evil.example'></iframe>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "![x](data:image/svg+xml;base64,PHN2Zz4=)",
        "[x](vbscript:msgbox(1))",
        "<a href='javascript:alert(1)' onclick='alert(1)'>x</a>",
    ],
)
def test_active_content_never_survives(hostile):
    assert active_content(render_markdown(hostile)) == []


def test_the_safety_check_itself_notices_active_content():
    assert active_content('<p><a href=" JaVa\tScRiPt:x">x</a><img src=x onerror=y><script></script></p>') == [
        "a[href= JaVa\tScRiPt:x]",
        "img[onerror]",
        "<script>",
    ]


def test_nul_bytes_are_replaced():
    assert "\x00" not in render_markdown("a\x00b")
