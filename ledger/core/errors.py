"""The project's exceptions.

Every error a user can cause carries a machine-readable ``code`` and a message a person
understands (ideally naming the fix); the API turns ``http_status`` into the response status.
"""

from __future__ import annotations

from typing import Any


class CertledgerError(Exception):
    """Base of every error certledger raises on purpose."""

    http_status = 500

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def __reduce__(self) -> tuple[Any, ...]:
        # errors cross process boundaries (document workers); rebuild them from their state
        return (_rebuild, (self.__class__, dict(self.__dict__)))

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


def _rebuild(cls: type[CertledgerError], state: dict[str, Any]) -> CertledgerError:
    exc = cls.__new__(cls)
    Exception.__init__(exc, state["message"])
    exc.__dict__.update(state)
    return exc


class BadInput(CertledgerError):
    """The caller sent something malformed; nothing was changed."""

    http_status = 422


class NotFound(CertledgerError):
    http_status = 404


class Forbidden(CertledgerError):
    """The caller is known but may not do this."""

    http_status = 403


class Unauthorized(CertledgerError):
    http_status = 401


class Conflict(CertledgerError):
    """The request clashes with existing state (a duplicate, a second anchor of one root...)."""

    http_status = 409


class Gone(CertledgerError):
    """What was asked for existed but no longer may be used (an expired or revoked share link)."""

    http_status = 410


class TooLarge(CertledgerError):
    http_status = 413


class ServiceUnavailable(CertledgerError):
    """A dependency (chain node, IPFS node, database) cannot be reached."""

    http_status = 503


class ChainRevert(CertledgerError):
    """The ledger contract refused a call or transaction, with its custom error's name."""

    http_status = 409

    def __init__(self, error_name: str, args: tuple[Any, ...] = (), message: str | None = None) -> None:
        shown = [("0x" + a.hex()) if isinstance(a, bytes) else a for a in args]
        super().__init__(
            f"contract_{error_name}",
            message or f"the ledger contract refused the call: {error_name}({', '.join(map(str, shown))})",
            error=error_name,
            args=shown,
        )
        self.error_name = error_name
        self.error_args = args
