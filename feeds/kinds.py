"""Each entry kind's own fields, checked before an entry is saved.

The fields live in `Entry.details`; `rendering.render_entry` turns them into the entry's HTML.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from . import race

MAX_FIELD = 300

# Host (or its parent domain) to the network's name shown on the card.
SOCIAL_NETWORKS = {
    "x.com": "X",
    "twitter.com": "X",
    "instagram.com": "Instagram",
    "youtube.com": "YouTube",
    "youtu.be": "YouTube",
    "bsky.app": "Bluesky",
    "threads.net": "Threads",
    "threads.com": "Threads",
    "facebook.com": "Facebook",
    "tiktok.com": "TikTok",
    "linkedin.com": "LinkedIn",
    "mastodon.social": "Mastodon",
}


def social_network(url: str) -> str:
    """The network a post URL belongs to; raises ValueError for anything else."""
    # Quotes, angle brackets and the like are never raw in a real address (RFC 3986).
    if not isinstance(url, str) or len(url) > 500 or any(c.isspace() or c in '"<>\\^`{|}' for c in url):
        raise ValueError("Enter the full address of a post.")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise ValueError("Enter the full address of a post.")
    if parts.scheme != "https" or not host or parts.username or parts.password:
        raise ValueError("Enter the post's https:// address.")
    labels = host.split(".")
    for start in range(len(labels) - 1):
        network = SOCIAL_NETWORKS.get(".".join(labels[start:]))
        if network:
            if parts.path in ("", "/"):
                raise ValueError(f"Link to a post on {network}, not its home page.")
            return network
    raise ValueError(f"Posts from {host} are not supported; use {', '.join(sorted(set(SOCIAL_NETWORKS.values())))}.")


def _text(details: dict[str, Any], name: str, *, required: bool = False, label: str = "") -> str:
    value = details.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError({name: "Must be text."})
    value = value.replace("\x00", "").strip()
    if required and not value:
        raise ValidationError({name: f"{label or name.capitalize()} is required."})
    if len(value) > MAX_FIELD:
        raise ValidationError({name: f"At most {MAX_FIELD} characters."})
    return value


def clean_details(*, kind: str, details: Any, body: str, headline: str, has_image: bool) -> dict[str, Any]:
    """The kind's fields, checked and trimmed; raises ValidationError naming the field."""
    if details is None:
        details = {}
    if not isinstance(details, dict):
        raise ValidationError({"details": "Send the kind's fields as an object."})
    if kind == "text":
        if not body.strip() and not headline.strip():
            raise ValidationError({"body": "Write a headline or a body."})
        return {}
    if kind == "quote":
        if not body.strip():
            raise ValidationError({"body": "Write the quote."})
        return {
            "speaker": _text(details, "speaker", required=True, label="The speaker"),
            "role": _text(details, "role"),
        }
    if kind == "social":
        url = details.get("url", "")
        try:
            network = social_network(url)
        except ValueError as exc:
            raise ValidationError({"url": str(exc)})
        return {"url": url, "network": network, "author": _text(details, "author")}
    if kind == "image":
        if not has_image:
            raise ValidationError({"image": "Choose a JPEG, PNG or WebP image."})
        # The image's own fields (src, size, renditions) are added by the services, never taken
        # from the request.
        return {
            "alt": _text(details, "alt", required=True, label="Alt text"),
            "caption": _text(details, "caption"),
            "credit": _text(details, "credit"),
        }
    if kind == "race_status":
        snapshot = race.clean_race({}, {k: v for k, v in details.items() if k in race.FIELDS})
        if "flag" not in snapshot:
            raise ValidationError({"flag": "A race status entry needs a flag."})
        return snapshot
    raise ValidationError({"kind": "Unknown kind."})
