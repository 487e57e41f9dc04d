"""The API reference page renders in a browser under the site's Content Security Policy."""

from __future__ import annotations

from playwright.sync_api import expect


def test_api_reference_renders_every_operation_without_a_csp_violation(browser, start_daphne):
    server = start_daphne()
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    response = page.goto(f"{server.url}/api/docs/", wait_until="domcontentloaded")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("h2", has_text="Create a feed")).to_be_visible(timeout=20_000)
    expect(page.locator("h2", has_text="Push timing data")).to_be_visible()
    assert not [problem for problem in problems if "Content Security Policy" in problem], problems
    page.close()
