"""``python -m api.serve``: uvicorn workers whose connections have TCP_NODELAY set.

``uvicorn --workers N`` binds its listening socket without ``proto=IPPROTO_TCP``; asyncio then leaves
Nagle's algorithm on for accepted connections and every keep-alive request after the first waits
~40 ms for the client's delayed ACK (uvicorn issue #3149). This binds the listener with the protocol
set and hands it to uvicorn's own supervisor; the rest is plain uvicorn running ``api.app:app``.
"""

from __future__ import annotations

import argparse
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess


def listener(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    config = uvicorn.Config("api.app:app", host=args.host, port=args.port, workers=args.workers,
                            log_level=args.log_level, access_log=False)
    sock = listener(args.host, args.port)
    if args.workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
