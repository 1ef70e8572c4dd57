"""A loopback TCP proxy in front of fakehub that loses answers to writes GitHub has applied.

For a share of PUT and DELETE requests (drawn from a seeded generator) it forwards the request,
lets fakehub apply it, reads the answer, and then closes the client's connection instead of
passing the answer on: the write landed, the client never heard. That is the "connection reset
after the request was applied" a real network produces, and what a retry must be ready for.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

OnReset = Callable[[str, str], None]  # (method, path) of a write whose answer was lost


@contextmanager
def resetting_after_apply(upstream: str, rate: float, *, seed: int = 0,
                          on_reset: OnReset | None = None) -> Iterator[tuple[str, list[str]]]:
    """(the proxy's URL, the "METHOD path" of every write whose answer it dropped)."""
    target = urlsplit(upstream)
    rng = random.Random(seed)
    dropped: list[str] = []
    ready = threading.Event()
    state: dict[str, object] = {}

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(target.hostname, target.port)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                body = await reader.readexactly(_length(head))
                up_writer.write(head + body)
                await up_writer.drain()
                answer_head = await up_reader.readuntil(b"\r\n\r\n")
                answer = answer_head + await up_reader.readexactly(_length(answer_head))
                method, path = head.split(b" ", 2)[:2]
                if method in (b"PUT", b"DELETE") and rng.random() < rate:
                    dropped.append(f"{method.decode()} {path.decode()}")
                    if on_reset is not None:
                        on_reset(method.decode(), path.decode())
                    return  # applied upstream; the connection closes without an answer
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            up_writer.close()

    def serve() -> None:
        loop = asyncio.new_event_loop()
        server = loop.run_until_complete(asyncio.start_server(relay, "127.0.0.1", 0))
        state["loop"], state["port"] = loop, server.sockets[0].getsockname()[1]
        ready.set()
        loop.run_forever()
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()

    thread = threading.Thread(target=serve, name="reset-proxy", daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield f"http://127.0.0.1:{state['port']}", dropped
    finally:
        loop = state["loop"]
        assert isinstance(loop, asyncio.AbstractEventLoop)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
        if name.strip().lower() == b"transfer-encoding":
            raise AssertionError("chunked bodies are not relayed by this proxy")
    return 0
