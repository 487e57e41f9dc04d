"""Telegram's message entities and Slack's mrkdwn to Markdown, which the normal renderer then
turns into sanitized HTML.

Everything outside a recognised format is escaped, so a `*` or `<` typed in a chat shows as typed.
"""

from __future__ import annotations

import html
import re
from typing import Any

# Characters that start Markdown syntax anywhere in a line.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>~&!|])")
# Characters that only mean something at the start of a line (headings, lists, quotes, breaks).
_LINE_START_NUMBER = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)
# Links readers may follow; anything else (tg://, javascript:…) keeps its text, without the link.
_SAFE_LINK = re.compile(r"(?i)^(https?://|mailto:)")


def escape_markdown(text: str) -> str:
    """Plain text as Markdown that renders to exactly that text."""
    text = _INLINE_SPECIAL.sub(r"\\\1", text)
    text = _LINE_START_NUMBER.sub(r"\1\\\2", text)
    return re.sub(r"^(\s*)([-+=#>])", r"\1\\\2", text, flags=re.MULTILINE)


def _link_destination(url: str) -> str:
    return "<" + url.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E").replace("\n", "") + ">"


def _code_span(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _code_block(text: str, language: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    language = re.sub(r"[^\w+#.-]", "", language or "")
    return f"\n\n{fence}{language}\n{text}\n{fence}\n\n"


# --- Telegram ---------------------------------------------------------------------------------


def telegram_to_markdown(text: str, entities: list[dict[str, Any]] | None) -> str:
    """A message's text and its `entities` (offsets in UTF-16 code units, nested or disjoint) as
    Markdown."""
    units = text.encode("utf-16-le")
    length = len(units) // 2
    spans = []
    for entity in entities or []:
        if not isinstance(entity, dict):
            continue
        offset, size = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(size, int) or size <= 0 or offset < 0:
            continue
        spans.append((offset, min(offset + size, length), entity))
    spans.sort(key=lambda span: (span[0], -span[1]))

    def piece(start: int, end: int) -> str:
        return units[start * 2 : end * 2].decode("utf-16-le", errors="replace")

    def render(start: int, end: int, inner: list[tuple[int, int, dict[str, Any]]]) -> str:
        out, position, index = [], start, 0
        while index < len(inner):
            span_start, span_end, entity = inner[index]
            index += 1
            if span_start < position:
                continue  # overlaps the previous span without nesting in it: keep the text plain
            span_end = min(span_end, end)
            children = []
            while index < len(inner) and inner[index][0] < span_end:
                children.append(inner[index])
                index += 1
            out.append(escape_markdown(piece(position, span_start)))
            out.append(_wrap(entity, piece(span_start, span_end), render(span_start, span_end, children)))
            position = span_end
        out.append(escape_markdown(piece(position, end)))
        return "".join(out)

    return render(0, length, spans).strip()


def _wrap(entity: dict[str, Any], raw: str, inner: str) -> str:
    """One entity's Markdown; `raw` is its text as sent, `inner` its already converted content."""
    kind = entity.get("type")
    # Markdown emphasis cannot start or end on a space: keep edge spaces outside the markers.
    stripped = inner.strip()
    if not stripped:
        return inner
    lead = inner[: len(inner) - len(inner.lstrip())]
    trail = inner[len(inner.rstrip()) :]
    if kind == "bold":
        return f"{lead}**{stripped}**{trail}"
    if kind == "italic":
        return f"{lead}*{stripped}*{trail}"
    if kind == "strikethrough":
        return f"{lead}~~{stripped}~~{trail}"
    if kind == "code":
        return _code_span(raw)
    if kind == "pre":
        return _code_block(raw, str(entity.get("language") or ""))
    if kind == "text_link" and isinstance(entity.get("url"), str) and _SAFE_LINK.match(entity["url"]):
        return f"{lead}[{stripped}]({_link_destination(entity['url'])}){trail}"
    if kind == "url":
        url = raw if re.match(r"(?i)^https?://", raw) else f"https://{raw}"
        return f"[{inner}]({_link_destination(url)})"
    if kind == "email":
        return f"[{inner}]({_link_destination('mailto:' + raw)})"
    if kind in ("blockquote", "expandable_blockquote"):
        return "\n\n" + "\n".join("> " + line for line in inner.split("\n")) + "\n\n"
    # underline, spoiler, mention, hashtag, cashtag, bot_command, phone_number, custom_emoji…: the
    # text itself.
    return inner


# --- Slack ------------------------------------------------------------------------------------

_SLACK_TOKEN = re.compile(r"```(?P<pre>.+?)```|`(?P<code>[^`\n]+)`|<(?P<angle>[^<>\n]+)>", re.DOTALL)
_SLACK_STYLE = re.compile(r"(?<![\w*_~])(?P<mark>[*_~])(?=\S)(?P<inner>[^\n]+?)(?<=\S)(?P=mark)(?![\w*_~])")
_SLACK_MARKDOWN = {"*": "**", "_": "*", "~": "~~"}


def slack_to_markdown(text: str) -> str:
    """Slack's mrkdwn (`*bold*`, `_italic_`, `~strike~`, code, `<url|label>`, mentions) as Markdown."""
    out, position = [], 0
    for match in _SLACK_TOKEN.finditer(text):
        out.append(_slack_styles(text[position : match.start()]))
        if match.group("pre") is not None:
            out.append(_code_block(html.unescape(match.group("pre").strip("\n")), ""))
        elif match.group("code") is not None:
            out.append(_code_span(html.unescape(match.group("code"))))
        else:
            out.append(_slack_angle(match.group("angle")))
        position = match.end()
    out.append(_slack_styles(text[position:]))
    return "".join(out).strip()


def _slack_styles(text: str) -> str:
    out, position = [], 0
    for match in _SLACK_STYLE.finditer(text):
        out.append(escape_markdown(html.unescape(text[position : match.start()])))
        marker = _SLACK_MARKDOWN[match.group("mark")]
        out.append(f"{marker}{_slack_styles(match.group('inner'))}{marker}")
        position = match.end()
    out.append(escape_markdown(html.unescape(text[position:])))
    return "".join(out)


def _slack_angle(token: str) -> str:
    """`<https://…|label>`, `<mailto:…>`, `<@U123>`, `<#C123|general>`, `<!here>`."""
    target, _, label = token.partition("|")
    target, label = html.unescape(target), html.unescape(label)
    if target.startswith("@"):
        return escape_markdown("@" + (label or target[1:]))
    if target.startswith("#"):
        return escape_markdown("#" + (label or target[1:]))
    if target.startswith("!"):
        return escape_markdown("@" + (label or target[1:].split("^")[0]))
    if _SAFE_LINK.match(target):
        return f"[{escape_markdown(label or target)}]({_link_destination(target)})"
    return escape_markdown(f"<{token}>")
