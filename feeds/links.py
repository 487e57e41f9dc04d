"""Public URLs of feeds and entries, absolute where they leave the site (feeds, embeds, JSON-LD)."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from .models import Entry, Feed


def feed_path(feed: Feed) -> str:
    return reverse("feeds:detail", kwargs={"slug": feed.slug})


def entry_path(entry: Entry) -> str:
    """An entry's permalink: the live page opened at that entry."""
    return reverse("feeds:entry", kwargs={"slug": entry.feed.slug, "entry_id": entry.pk})


def embed_path(feed: Feed) -> str:
    return reverse("feeds:embed", kwargs={"slug": feed.slug})


def absolute(request: HttpRequest, path: str) -> str:
    return request.build_absolute_uri(path)
