"""The ``certledger`` command: the production processes (serve, worker, indexer) and one-shot operations
(migrate, deploy, init, backup, restore), the local stack (up, chain), certificates and report summaries,
organizations, seals and the trust list. Each group of commands is a module of this package registering on
:data:`cli.app.app`; this module gathers them (the console script is ``cli.main:app``)."""

from __future__ import annotations

from cli import (  # noqa: F401 - each registers its commands
    administration,
    backup,
    certificates,
    imports,
    ops,
    organizations,
    plan_targets,
    stack,
)
from cli.app import app

__all__ = ["app"]
