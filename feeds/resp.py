"""Reading RESP2, the Redis protocol, from a buffer: kept free of Django so that any process
(the server's Redis link, the benchmarks' publish clock) can parse replies as bytes arrive."""

from __future__ import annotations

from typing import Any


def parse_reply(buffer: bytearray, start: int = 0) -> tuple[Any, int] | None:
    """One RESP2 reply from `buffer` at `start` and where it ends; None if it is not all there.

    An error reply raises ConnectionError: in subscribe mode there is no command it answers.
    """
    end = buffer.find(b"\r\n", start)
    if end < 0:
        return None
    kind, rest = buffer[start : start + 1], bytes(buffer[start + 1 : end])
    position = end + 2
    if kind == b"*":
        items = []
        for _ in range(int(rest)):
            parsed = parse_reply(buffer, position)
            if parsed is None:
                return None
            item, position = parsed
            items.append(item)
        return items, position
    if kind == b"$":
        length = int(rest)
        if length < 0:
            return None, position
        if len(buffer) < position + length + 2:
            return None
        return bytes(buffer[position : position + length]), position + length + 2
    if kind == b":":
        return int(rest), position
    if kind == b"-":
        raise ConnectionError(f"Redis error: {rest.decode(errors='replace')}")
    return rest, position
