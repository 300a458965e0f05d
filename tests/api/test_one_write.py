"""One write per response (``api.one_write``): what is written in one turn of the event loop reaches the socket
as one write, in order, and a close writes what is pending first; and the real server still speaks HTTP/1.1 as
before over one connection (keep-alive, then ``Connection: close``)."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

from api.one_write import GatheredWrites


class _Recorded(asyncio.Transport):
    """A transport that keeps what it is asked to do, to count the writes that reach the socket."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, bytes]] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(("write", bytes(data)))

    def close(self) -> None:
        self.calls.append(("close", b""))
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 1) if name == "peername" else default


def test_writes_in_one_turn_reach_the_socket_as_one_in_order() -> None:
    async def run() -> list[tuple[str, bytes]]:
        raw = _Recorded()
        gathered = GatheredWrites(raw, asyncio.get_running_loop())
        gathered.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        gathered.write(b"{}")
        assert raw.calls == []  # nothing before the turn ends
        await asyncio.sleep(0)
        gathered.write(b"next")
        gathered.close()  # what is pending goes out before the close
        gathered.write(b"after close")
        await asyncio.sleep(0)
        assert gathered.get_extra_info("peername") == ("127.0.0.1", 1)  # the rest of the interface passes through
        return raw.calls

    assert asyncio.run(run()) == [("write", b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"), ("write", b"next"),
                                  ("close", b"")]


def _response(conn: socket.socket, pending: bytes) -> tuple[bytes, bytes, bytes]:
    """One response's head and body from ``conn`` (by its content-length), and what was read beyond it."""
    data = pending
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, rest = data.split(b"\r\n\r\n", 1)
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(rest) < length:
        rest += conn.recv(65536)
    return head, rest[:length], rest[length:]


def test_the_server_answers_requests_on_one_connection_then_closes_it(api_server: str) -> None:
    url = urlsplit(api_server)
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        pending = b""
        for close in (False, False, True):
            extra = b"Connection: close\r\n" if close else b""
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")
            head, body, pending = _response(conn, pending)
            assert head.startswith(b"HTTP/1.1 200") and b'"status":"ok"' in body.replace(b" ", b"")
        assert pending == b"" and conn.recv(1) == b""  # closed after the last answer, nothing more sent
