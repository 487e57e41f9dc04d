"""How a change reaches readers, one module per concern.

- `publishing`: `broadcast_change`, the one call services make; publishes after commit.
- `hub`: this process's readers by feed, and handing each change to them.
- `redis_link`: this process's Redis subscription, feeding the hub from every other process.
- `local_bus`: without Redis, the same between the processes of one machine (server, worker, commands).
- `writers`: writing a change's prebuilt frame to one reader's socket within a bounded buffer.
- `desk`: the staff's channel-layer group, which carries drafts and never reaches readers.

The names callers use are re-exported here, so `from feeds.broadcast import broadcast_change` (and
`broadcast.subscribe`, `broadcast.Change`...) keep working; the hub of readers itself is
`feeds.broadcast.hub.hub`. Code that replaces one of these (a test, a benchmark) patches the module
that owns it, such as `feeds.broadcast.publishing.publish`, not this package's re-export.
"""

from __future__ import annotations

from . import hub, local_bus, publishing, writers
from .desk import broadcast_to_desk, desk_group_name, subscribe_desk, unsubscribe_desk
from .hub import Listener, subscribe, subscription_state, unsubscribe
from .publishing import TRANSIENT_SEQ, broadcast_change, broadcast_transient, publish, redis_ping
from .redis_link import redis_channel
from .writers import (
    CLOSE_RESUME,
    CLOSE_TOO_SLOW,
    Change,
    SendWriter,
    TransportWriter,
    Writer,
    reader_buffer_bytes,
    writer_for,
)

__all__ = [
    "CLOSE_RESUME",
    "CLOSE_TOO_SLOW",
    "Change",
    "TRANSIENT_SEQ",
    "Listener",
    "SendWriter",
    "TransportWriter",
    "Writer",
    "broadcast_change",
    "broadcast_to_desk",
    "broadcast_transient",
    "desk_group_name",
    "publish",
    "reader_buffer_bytes",
    "redis_channel",
    "redis_ping",
    "reset_process_state",
    "subscribe",
    "subscribe_desk",
    "subscription_state",
    "unsubscribe",
    "unsubscribe_desk",
    "writer_for",
]


def reset_process_state() -> None:
    """Forget everything the broadcast keeps for the life of a process: the hub's readers and Redis
    link, the local bus socket, the cached Redis publisher and the cached buffer bound. For tests,
    between tests."""
    hub.reset()
    local_bus.reset()
    publishing.reset()
    writers.reset()
