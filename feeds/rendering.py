"""The shared HTML toolkit: Markdown, the sanitizer, and the race status line and bar.

Every entry kind (feeds.kinds) ends up as one sanitized `html` string built with these, so the
reader page, the API, the WebSocket and any widget show every kind without code of their own.
"""

from __future__ import annotations

from typing import Any

import nh3
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

from . import race

# Raw HTML in the Markdown is escaped by the parser; the sanitizer below is the real guard.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    "strikethrough"
)

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "a",
    "em",
    "strong",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h3",
    "h4",
    "h5",
    "h6",
    "img",
    "figure",
    "figcaption",
    "cite",
    "footer",
    "span",
    "div",
    "dl",
    "dt",
    "dd",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class"},
    "img": {"src", "alt", "title", "srcset", "sizes", "width", "height", "loading"},
    "ol": {"start", "class"},
    "blockquote": {"class", "cite"},
    "figure": {"class"},
    "footer": {"class"},
    "span": {"class"},
    "div": {"class"},
    "p": {"class"},
    "dl": {"class"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(html: str) -> str:
    """Keep formatting, links and images; drop scripts, handlers and unsafe URLs."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow ugc",
        strip_comments=True,
    )


def render_markdown(markdown: str) -> str:
    """Render an entry body to sanitized HTML."""
    # NUL bytes cannot be stored by PostgreSQL and mean nothing in text.
    markdown = markdown.replace("\x00", "\ufffd")
    return sanitize_html(_markdown.render(markdown)).strip()


def render_race_summary(state: dict[str, Any], *, css: str) -> str:
    """One line: the flag and the lap, e.g. "Caution · Lap 45 of 200"."""
    flag = state.get("flag") or "none"
    lap = race.lap_text(state)
    return format_html(
        '<p class="{css} flag-{flag}"><span class="flag">{label}</span>{lap}</p>',
        css=css,
        flag=flag,
        label=race.flag_label(flag),
        lap=format_html(" · {}", lap) if lap else "",
    )


def render_race_status(state: dict[str, Any]) -> str:
    """The status bar shown at the top of a feed's live page; empty when nothing is known."""
    if not state:
        return ""
    facts = [format_html("<dt>{}</dt><dd>{}</dd>", label, value) for label, value in race.facts(state)]
    order = ""
    if state.get("running_order"):
        items = "".join(format_html("<li>{}</li>", name) for name in state["running_order"])
        order = format_html('<ol class="race-order">{}</ol>', mark_safe(items))
    html = format_html(
        '<div class="race-status flag-{}">{}<dl class="race-facts">{}</dl>{}</div>',
        state.get("flag") or "none",
        render_race_summary(state, css="race-flag"),
        mark_safe("".join(facts)),
        order,
    )
    return sanitize_html(str(html)).strip()
