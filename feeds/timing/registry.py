"""The timing formats Livefeed reads; a new series is one adapter module listed here."""

from __future__ import annotations

from .adapters import livefeed, nascar
from .snapshot import TimingAdapter

ADAPTERS: dict[str, TimingAdapter] = {adapter.name: adapter for adapter in (livefeed.adapter, nascar.adapter)}


def adapter_for(name: str) -> TimingAdapter:
    """The adapter for a source's format; KeyError for a format no longer installed."""
    return ADAPTERS[name]


def choices() -> list[tuple[str, str]]:
    return [(adapter.name, adapter.label) for adapter in ADAPTERS.values()]
