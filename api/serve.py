"""The API server (``certledger serve``, ``python -m api.serve``): uvicorn workers configured by the environment.

``CERTLEDGER_WORKERS`` worker processes (default 1) share one listening socket. With more than one, each
counts its metrics into ``PROMETHEUS_MULTIPROC_DIR`` (made here when unset, emptied at every start as
prometheus-client requires) and any worker's ``/metrics`` adds them all up. Logs are one JSON object per line
on stderr (``ledger.app.logs``), one access line per request (``api.observe``). SIGTERM (or SIGINT) stops
accepting, lets every worker finish its requests, then exits.

uvicorn's ``--workers`` binds its listening socket without ``proto=IPPROTO_TCP``; asyncio then leaves Nagle's
algorithm on for accepted connections and every keep-alive request after the first waits ~40 ms for the
client's delayed ACK (uvicorn issue #3149). :func:`listener` binds the socket with the protocol set and hands
it to uvicorn's own supervisor. Each response goes out in one write to the socket, headers and body together
(:mod:`api.one_write`), where uvicorn's protocol made two.

With more than one worker the supervisor imports the application once and forks the workers from it
(:func:`imported_app`), instead of uvicorn's spawn where every worker imported everything again (web3,
eth-account's BLS tables, FastAPI, SQLAlchemy: ~5 s of CPU each, tens of seconds for two workers on a busy
2-core host); what a worker's first requests would build lazily (FastAPI's routes, SQLAlchemy's mappers) is
built then too. The supervisor starts no thread and opens no connection before forking: each worker builds its
own Library (connections, keys) as it starts, before it accepts a request. One worker serves the application
imported the same way.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn._subprocess import subprocess_started
from uvicorn.supervisors import Multiprocess, multiprocess

from api.one_write import HttpProtocol
from ledger.app.logs import quiet_dependencies, uvicorn_log_config

WORKERS_ENV = "CERTLEDGER_WORKERS"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
TRUSTED_PROXIES_ENV = "CERTLEDGER_TRUSTED_PROXIES"
# uvicorn's supervisor kills a worker that does not answer its ping in this time; its 5 s default killed workers
# still importing the application when several processes started at once on a busy 2-core host.
HEALTHCHECK_S = 30
# An idle keep-alive connection is closed after this time: longer than the load balancers' idle timeout (60 s is
# usual), so it is always the balancer that closes one, never the API just as a request is sent on it.
KEEP_ALIVE_S = 75
# How long a thread may hold the GIL while another waits for it (Python's default: 5 ms). A worker's event loop
# answers verifications between short database waits, each of which hands the GIL to whichever thread wants it;
# while a background writer works (a flush of the lookups, ledger.holders.lookups), the loop waited up to the whole
# interval after each of them, and a fresh verification's 1 ms became tens.
GIL_SWITCH_S = 0.0005


def listener(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def workers_from_env() -> int:
    """``CERTLEDGER_WORKERS`` (default 1): API worker processes, about one per core."""
    value = os.environ.get(WORKERS_ENV, "1")
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{WORKERS_ENV}={value!r}: 需要正整数 / give a whole number of worker processes, at least 1")
    return int(value)


def metrics_folder() -> Path:
    """``PROMETHEUS_MULTIPROC_DIR``, made when unset, and emptied of an earlier run's files (their counts would
    otherwise be added to this run's)."""
    named = os.environ.get(MULTIPROC_ENV)
    folder = Path(named) if named else Path(tempfile.mkdtemp(prefix="certledger-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink()
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def proxy_options() -> dict[str, Any]:
    """uvicorn's forwarded-header settings. The public rate limit counts per client address, so ``X-Forwarded-For``
    is believed only from the proxies ``CERTLEDGER_TRUSTED_PROXIES`` names (comma-separated addresses or networks,
    e.g. ``10.0.0.5,10.0.1.0/24``); unset, never (uvicorn's default trusts it from 127.0.0.1, so any local
    process could pick its own address)."""
    trusted = os.environ.get(TRUSTED_PROXIES_ENV, "").strip()
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}


def served_app() -> Any:
    """The application: dependencies' warnings off before they are imported, then the app."""
    quiet_dependencies()
    from api.app import create_app

    return create_app(library_at_start=True)


def _forked_worker(config: uvicorn.Config, target: Any, sockets: list[socket.socket]) -> None:
    """A forked worker's life: uvicorn's, then the exit handlers (a forked process ends with ``os._exit``, which
    would skip them: the verification tallies' last flush, ``ledger.plan.verifications``). The supervisor's signal
    handlers are dropped first, as a spawned worker never had them: a SIGTERM before uvicorn takes the signals
    over ends the worker rather than landing in a queue only the supervisor reads."""
    for sig in multiprocess.SIGNALS:
        signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
    try:
        subprocess_started(config, target, sockets, stdin_fileno=None)
    finally:
        atexit._run_exitfuncs()


def _fork_subprocess(config: uvicorn.Config, target: Any, sockets: list[socket.socket]) -> multiprocessing.Process:
    return multiprocessing.get_context("fork").Process(target=_forked_worker, args=(config, target, sockets))


def prepared(app: Any) -> Any:
    """``app`` with what each worker would otherwise build after the fork, on its first requests, built once:
    FastAPI's routes (a router builds its routes' dependency models on its first match: ~0.6 s of CPU, which a fresh
    worker's first requests waited for), SQLAlchemy's mappers (configured by the first query) and the HTTP clients'
    transport (httpcore, imported by the first client made: the IPFS store's). Opens no connection, starts no
    thread."""
    import httpcore  # noqa: F401
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    nowhere = {"type": "http", "method": "GET", "path": "/\x00", "root_path": "", "headers": [], "query_string": b""}
    for route in app.router.routes:  # no route matches it, so every router builds its routes to try them
        route.matches(nowhere)
    return app


def imported_app() -> Any:
    """The application, imported with the garbage collector paused (imports make objects, not garbage: the
    collections it would run cost ~15% of the import) and prepared for its first requests, then the heap frozen so
    that forked workers' collections leave the pages they share alone."""
    gc.disable()
    try:
        return prepared(served_app())
    finally:
        gc.collect()
        gc.freeze()
        gc.enable()


def serve(host: str, port: int, workers: int, log_level: str = "info") -> None:
    """Run the API until SIGTERM or SIGINT; ``workers`` > 1 runs uvicorn's supervisor over forked workers."""
    os.umask(0o077)  # whatever the workers create (a SQLite database, metrics files) is the owner's only
    sys.setswitchinterval(GIL_SWITCH_S)
    if workers > 1 or os.environ.get(MULTIPROC_ENV):
        metrics_folder()
    app = imported_app()
    if workers > 1:  # uvicorn 0.55 spawns its workers through get_subprocess, which is all this replaces
        multiprocess.get_subprocess = _fork_subprocess
    config = uvicorn.Config(app, host=host, port=port, workers=workers,
                            log_config=uvicorn_log_config(log_level.upper()), access_log=False,
                            timeout_worker_healthcheck=HEALTHCHECK_S, timeout_keep_alive=KEEP_ALIVE_S,
                            http=HttpProtocol, **proxy_options())
    sock = listener(host, port)
    if workers > 1:
        config.load()  # uvicorn's protocol and loop modules too, once, before the fork
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=None, help=f"default: {WORKERS_ENV}, else 1")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.workers or workers_from_env(), args.log_level)


if __name__ == "__main__":
    main()
