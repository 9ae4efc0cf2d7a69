"""A TCP proxy in front of the router that withholds its answer: the router has committed and replied, the
client has not heard, and the campaign SIGKILLs the router in that moment and cuts the client's connection.

The router writes a 2xx answer only after its transaction committed, so its status line reaching the proxy
marks "committed"; whatever the process would have done next (its relay publishing the ticket's events, its
answer reaching the client) dies with it. Any other answer is passed on untouched. Clients of the proxy must
not keep connections alive, so that every connection carries one request and its one answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass
class AnswerHoldingProxy:
    upstream_port: int
    port: int = 0
    holding: bool = True  # only the first answer is withheld; later connections pass straight through
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    _clients: list[asyncio.StreamWriter] = field(default_factory=list)
    _connections: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        """Drop every client connection without a word (a reset, as when the server's host vanishes)."""
        for writer in self._clients:
            with contextlib.suppress(OSError):
                writer.transport.abort()
        self._clients.clear()

    async def close(self) -> None:
        self.cut()
        for connection in self._connections:
            connection.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if (task := asyncio.current_task()) is not None:
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)
        self._clients.append(client_writer)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_writer.transport.abort()
            return
        forward = asyncio.create_task(_pipe(client_reader, upstream_writer))
        try:
            status_line = await upstream_reader.readline()
            if self.holding and status_line[9:10] == b"2":  # "HTTP/1.1 2xx": the write committed
                self.holding = False
                self.answered.set()  # and the answer goes no further
                await upstream_reader.read()  # until the router is gone
            else:  # a refusal (a 503 while busy, say) committed nothing: the client hears it and retries
                client_writer.write(status_line)
                await _pipe(upstream_reader, client_writer)
        except OSError:
            pass
        finally:
            forward.cancel()
            upstream_writer.transport.abort()
            client_writer.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


@contextlib.asynccontextmanager
async def answer_holding_proxy(upstream_port: int) -> AsyncIterator[AnswerHoldingProxy]:
    proxy = AnswerHoldingProxy(upstream_port=upstream_port)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    proxy.port = sock.getsockname()[1]
    server = await asyncio.start_server(proxy._serve, sock=sock)
    try:
        yield proxy
    finally:
        server.close()
        await proxy.close()
        await server.wait_closed()
