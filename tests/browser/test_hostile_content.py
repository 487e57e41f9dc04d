"""Hostile entries in a real browser: nothing they carry runs, on the live page, the widget or a
permalink, whether rendered by the server or pushed live. The page's CSP is bypassed here, so
the sanitizer alone must hold."""

from __future__ import annotations

import httpx2 as httpx
import pytest
from playwright.sync_api import expect

from tests.test_hostile import CORPUS

pytestmark = pytest.mark.django_db(transaction=True)

# The page's own "Send a question" form (the participation app's, data-ask) is not injected.
INJECTED = (
    "document.querySelectorAll('[onerror],[onload],[onclick],[ontoggle],[onmouseover],iframe,object,"
    "embed,svg,math,form:not([data-ask])').length"
)
INLINE_SCRIPTS = "[...document.scripts].filter(s => !s.src && s.type !== 'application/ld+json').length"


def post(server, publisher, slug: str, **data) -> dict:
    response = httpx.post(
        f"{server.url}/api/feeds/{slug}/entries/",
        json=data,
        headers={"Authorization": f"Bearer {publisher.token}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def test_hostile_entries_run_nothing_in_the_browser(browser, start_daphne, publisher, live_feed):
    server = start_daphne(API_WRITE_RATE="100000/min")
    slug = live_feed.slug
    first = None
    for payload in CORPUS:
        entry = post(server, publisher, slug, headline=payload[:200], body=payload)
        post(
            server,
            publisher,
            slug,
            kind="quote",
            body=payload,
            details={"speaker": payload[:200], "role": "x"},
        )
        first = first or entry
    context = browser.new_context(bypass_csp=True)
    dialogs: list[str] = []
    try:
        for path in (f"/feeds/{slug}/", f"/feeds/{slug}/embed/", f"/feeds/{slug}/entries/{first['id']}/"):
            page = context.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(f"{server.url}{path}")
            expect(page.locator("[data-livefeed]")).to_have_attribute("data-connection", "live")
            before = page.locator("[data-stream] > [data-entry-id]").count()
            page.evaluate(
                "window.__applied = [];"
                "document.querySelector('[data-livefeed]').addEventListener("
                "'livefeed:message', (event) => window.__applied.push(event.detail.seq))"
            )
            pushed = [
                post(server, publisher, slug, headline=payload[:200], body=payload) for payload in CORPUS[:6]
            ]
            # Every pushed payload reached the page's script and was applied (a permalink page,
            # detached from the live top, applies them without showing them above itself).
            page.wait_for_function(
                "(seqs) => seqs.every((seq) => window.__applied.includes(seq))",
                arg=[e["seq"] for e in pushed],
            )
            if "/entries/" not in path:
                expect(page.locator("[data-stream] > [data-entry-id]")).to_have_count(before + 6)
            # An injected handler (an image's onerror) fires once its image has loaded or failed.
            page.wait_for_function("() => [...document.images].every((image) => image.complete)")
            assert page.evaluate("window.__pwned") is None, path
            assert page.evaluate(INJECTED) == 0, path
            assert page.evaluate(INLINE_SCRIPTS) == 0, path
            page.close()
    finally:
        context.close()
    assert dialogs == []
