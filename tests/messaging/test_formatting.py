"""Telegram entities and Slack mrkdwn to Markdown: formats kept, everything else shown as typed."""

from __future__ import annotations

from feeds.messaging.formatting import escape_markdown, slack_to_markdown, telegram_to_markdown
from feeds.rendering import render_markdown
from tests.fixtures.telegram_updates import entity


def test_entity_offsets_count_utf16_units_so_emoji_do_not_shift_them():
    text = "🏎️🏁 Verstappen wins"
    # 🏎️ is two units plus a variation selector, 🏁 two more, then a space: Verstappen starts at 6.
    assert telegram_to_markdown(text, [entity("bold", 6, 10)]) == "🏎️🏁 **Verstappen** wins"


def test_nested_entities_nest_in_markdown():
    assert telegram_to_markdown("Bold and italic", [entity("bold", 0, 15), entity("italic", 9, 6)]) == (
        "**Bold and *italic***"
    )


def test_emphasis_markers_stay_off_surrounding_spaces():
    assert (
        render_markdown(telegram_to_markdown("a bold b", [entity("bold", 1, 6)]))
        == "<p>a <strong>bold</strong> b</p>"
    )


def test_code_keeps_backticks_and_markdown_inside_it():
    assert (
        render_markdown(telegram_to_markdown("x `*a*` y", [entity("code", 2, 5)]))
        == "<p>x <code>`*a*`</code> y</p>"
    )


def test_plain_text_that_looks_like_markdown_renders_as_typed():
    for text in [
        "*a* _b_ `c`",
        "1. first",
        "- item",
        "# title",
        "> quote",
        "[x](https://e.test)",
        "a\\b",
        "&amp;",
    ]:
        html = render_markdown(escape_markdown(text))
        assert "<em>" not in html and "<li>" not in html and "<h" not in html and "<a" not in html
        assert html.startswith("<p>") and "\\" not in html.replace("a\\b", "")


def test_links_other_than_web_and_mail_keep_only_their_text():
    markdown = telegram_to_markdown("open me", [entity("text_link", 0, 7, url="tg://resolve?domain=x")])
    assert markdown == "open me"


def test_slack_links_mentions_and_code_blocks():
    markdown = slack_to_markdown("See <https://e.test/x|the story> and <#C1|pit-lane>\n```\n*raw*\n```")
    assert render_markdown(markdown) == (
        '<p>See <a href="https://e.test/x" rel="noopener noreferrer nofollow ugc">the story</a> and #pit-lane</p>\n'
        "<pre><code>*raw*\n</code></pre>"
    )


def test_slack_underscores_inside_words_stay_text():
    assert render_markdown(slack_to_markdown("car_number_24 and 2*3*4")) == "<p>car_number_24 and 2*3*4</p>"
