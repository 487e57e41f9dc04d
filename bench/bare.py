"""The floor for a fan-out in Python on this machine: bare `websockets`, no framework, no database.

One asyncio process per core accepts readers on one port (`SO_REUSEPORT`) and subscribes to the
feed's Redis channel; each message published there (`"<seq> <text>"`, as Livefeed publishes a
change) is written to every reader of the process with `websockets.broadcast`. The fan-out
benchmark publishes entries straight to Redis and clocks them as it clocks Livefeed's, so the two
figures differ only by what Livefeed does besides writing the frames.

    python -m bench.bare --port P --redis-port R [--processes N]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import sys

from bench.processes import FEED_SLUG, HOST

CHANNEL = f"livefeed.feed.{FEED_SLUG}"


async def serve(port: int, redis_port: int) -> None:
    import redis.asyncio as redis
    from websockets import broadcast
    from websockets.asyncio.server import ServerConnection
    from websockets.asyncio.server import serve as websocket_server

    readers: set[ServerConnection] = set()

    async def follow(connection: ServerConnection) -> None:
        readers.add(connection)
        try:
            await connection.wait_closed()
        finally:
            readers.discard(connection)

    subscriber = redis.Redis(host=HOST, port=redis_port).pubsub()
    await subscriber.subscribe(CHANNEL)
    async with websocket_server(follow, HOST, port, reuse_port=True, backlog=2048, compression=None):
        async for message in subscriber.listen():
            if message["type"] == "message":
                _, _, text = message["data"].decode().partition(" ")
                broadcast(readers, text)


def run_one(port: int, redis_port: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(serve(port, redis_port))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-port", type=int, required=True)
    parser.add_argument("--processes", type=int, default=len(os.sched_getaffinity(0)))
    options = parser.parse_args(argv)
    workers = [
        multiprocessing.Process(target=run_one, args=(options.port, options.redis_port), daemon=True)
        for _ in range(options.processes)
    ]
    for worker in workers:
        worker.start()

    def stop(signum: int, frame: object) -> None:
        for worker in workers:
            worker.terminate()

    signal.signal(signal.SIGTERM, stop)
    for worker in workers:
        worker.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
