"""A post on a social network, shown as a link card: no third-party script ever runs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from .base import DetailField, Kind

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
        raise ValueError(_("Enter the full address of a post."))
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise ValueError(_("Enter the full address of a post."))
    if parts.scheme != "https" or not host or parts.username or parts.password:
        raise ValueError(_("Enter the post's https:// address."))
    labels = host.split(".")
    for start in range(len(labels) - 1):
        network = SOCIAL_NETWORKS.get(".".join(labels[start:]))
        if network:
            if parts.path in ("", "/"):
                raise ValueError(
                    _("Link to a post on %(network)s, not its home page.") % {"network": network}
                )
            return network
    raise ValueError(
        _("Posts from %(host)s are not supported; use %(networks)s.")
        % {"host": host, "networks": ", ".join(sorted(set(SOCIAL_NETWORKS.values())))}
    )


class SocialKind(Kind):
    name = "social"
    label = _("Social post")
    body_label = _("Quoted text (optional)")
    fields = (
        DetailField(
            "url",
            _("Post URL"),
            max_length=500,
            help_text=_("The post's https:// address."),
            input_type="url",
            placeholder="https://bsky.app/profile/…/post/…",
            wide=True,
        ),
        # "author" alone would read as the entry's author in a form.
        DetailField("author", _("Posted by"), help_text=_("The account."), form_name="social_author"),
    )

    def clean(self, details: dict[str, Any], *, body: str, headline: str, has_image: bool) -> dict[str, Any]:
        url = details.get("url", "")
        try:
            network = social_network(url)
        except ValueError as exc:
            raise ValidationError({"url": str(exc)})
        return {"url": url, "network": network, "author": self.fields[1].clean(details)}

    def markup(self, text: str, details: dict[str, Any]) -> str:
        network = details.get("network", "")
        by = format_html(" · {}", details["author"]) if details.get("author") else ""
        return format_html(
            '<blockquote class="entry-social" cite="{url}">{text}<footer><span class="entry-social-network">'
            '{network}</span>{by} · <a href="{url}">View the post on {network}</a></footer></blockquote>',
            url=details.get("url", ""),
            text=mark_safe(text),
            network=network,
            by=by,
        )
