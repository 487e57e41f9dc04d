"""Every kind renders exactly the HTML it did before kinds became a registry: entries saved
before and after the change look the same to readers, in the page, the API and the widget."""

from __future__ import annotations

import pytest

from feeds import kinds

# (kind, body, details, the HTML the single rendering switch produced for them).
CASES = {
    "text_markdown": (
        "text",
        "Green flag **now**.\n\n- one\n- two",
        {},
        "<p>Green flag <strong>now</strong>.</p>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>",
    ),
    "text_empty": (
        "text",
        "",
        {},
        "",
    ),
    "text_hostile": (
        "text",
        "<script>alert(1)</script>[x](javascript:alert(1))",
        {},
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;[x](javascript:alert(1))</p>",
    ),
    "quote_with_role": (
        "quote",
        "We had the *pace*.",
        {"speaker": "Dana Okafor", "role": "driver, No. 75"},
        '<blockquote class="entry-quote"><p>We had the <em>pace</em>.</p><footer>— <cite>Dana Okafor</cite>, driver, No. 75</footer></blockquote>',
    ),
    "quote_without_role": (
        "quote",
        "No role.",
        {"speaker": "Sam <b>Lee</b>", "role": ""},
        '<blockquote class="entry-quote"><p>No role.</p><footer>— <cite>Sam &lt;b&gt;Lee&lt;/b&gt;</cite></footer></blockquote>',
    ),
    "quote_hostile": (
        "quote",
        "Hostile",
        {"speaker": '"><img src=x onerror=alert(1)>', "role": "<script>x</script>"},
        '<blockquote class="entry-quote"><p>Hostile</p><footer>— <cite>"&gt;&lt;img src=x onerror=alert(1)&gt;</cite>, &lt;script&gt;x&lt;/script&gt;</footer></blockquote>',
    ),
    "social_with_author": (
        "social",
        "Look at this",
        {"url": "https://bsky.app/profile/a/post/1", "network": "Bluesky", "author": "@a.bsky.social"},
        '<blockquote class="entry-social" cite="https://bsky.app/profile/a/post/1"><p>Look at this</p><footer><span class="entry-social-network">Bluesky</span> · @a.bsky.social · <a href="https://bsky.app/profile/a/post/1" rel="noopener noreferrer nofollow ugc">View the post on Bluesky</a></footer></blockquote>',
    ),
    "social_without_author_odd_url": (
        "social",
        "",
        {"url": 'https://x.com/a/status/1?x=1&y="2', "network": "X", "author": ""},
        '<blockquote class="entry-social" cite="https://x.com/a/status/1?x=1&amp;y=&quot;2"><footer><span class="entry-social-network">X</span> · <a href="https://x.com/a/status/1?x=1&amp;y=&quot;2" rel="noopener noreferrer nofollow ugc">View the post on X</a></footer></blockquote>',
    ),
    "image_renditions_caption_credit": (
        "image",
        "Under the image",
        {
            "alt": "Car 75 in turn 3",
            "caption": "Turn 3",
            "credit": "Photo: J. Doe",
            "src": "/media/entries/a.jpg",
            "width": 2000,
            "height": 1000,
            "renditions": [
                {"url": "/media/entries/a-480.webp", "width": 480},
                {"url": "/media/entries/a-960.webp", "width": 960},
            ],
        },
        '<figure class="entry-image"><img src="/media/entries/a-960.webp" srcset="/media/entries/a-480.webp 480w, /media/entries/a-960.webp 960w" sizes="(max-width: 760px) 100vw, 720px" alt="Car 75 in turn 3" width="960" height="480" loading="lazy"><figcaption>Turn 3 <span class="entry-credit">Photo: J. Doe</span></figcaption></figure><p>Under the image</p>',
    ),
    "image_one_rendition_no_caption": (
        "image",
        "",
        {
            "alt": '"quoted" <alt>',
            "caption": "",
            "credit": "",
            "src": "/media/entries/b.jpg",
            "width": 300,
            "height": 200,
            "renditions": [{"url": "/media/entries/b-300.webp", "width": 300}],
        },
        '<figure class="entry-image"><img src="/media/entries/b-300.webp" srcset="/media/entries/b-300.webp 300w" sizes="(max-width: 760px) 100vw, 720px" alt="&quot;quoted&quot; &lt;alt&gt;" width="300" height="200" loading="lazy"></figure>',
    ),
    "image_no_renditions_caption_only": (
        "image",
        "",
        {
            "alt": "x",
            "caption": "Only caption & more",
            "credit": "",
            "src": "/media/e/c.jpg",
            "width": 10,
            "height": 5,
            "renditions": [],
        },
        '<figure class="entry-image"><img src="/media/e/c.jpg" srcset="" sizes="(max-width: 760px) 100vw, 720px" alt="x" width="0" height="0" loading="lazy"><figcaption>Only caption &amp; more</figcaption></figure>',
    ),
    "race_status_with_note": (
        "race_status",
        "Debris in turn 2.",
        {"flag": "yellow", "lap": 45, "laps_total": 200},
        '<p class="entry-race flag-yellow"><span class="flag">Caution</span> · Lap 45 of 200</p><p>Debris in turn 2.</p>',
    ),
    "race_status_flag_only": (
        "race_status",
        "",
        {"flag": "green"},
        '<p class="entry-race flag-green"><span class="flag">Green flag</span></p>',
    ),
    "race_status_checkered": (
        "race_status",
        "",
        {"flag": "checkered", "lap": 200, "laps_total": 200},
        '<p class="entry-race flag-checkered"><span class="flag">Checkered flag</span> · Lap 200 of 200</p>',
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_every_kind_renders_the_same_html_as_before_the_registry(case):
    kind, body, details, expected = CASES[case]
    assert kinds.render_entry(kind=kind, body=body, details=details) == expected


def test_the_cases_cover_every_built_in_kind():
    assert {kind for kind, *_ in CASES.values()} == {"text", "quote", "social", "image", "race_status"}
