"""Domain errors: a stable code, a human message and, where it applies, the field at fault.

Services raise these; the edge (API view, form, admin action, command) turns them into a 4xx
JSON body `{"error": {"code", "message", "field"}}` or a form message. A service that raises
has changed nothing: it runs in a transaction that the exception rolls back.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(str(message))
        self.message = str(message)
        if code:
            self.code = code
        self.field = field

    def as_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class ValidationFailed(DomainError):
    code = "invalid"
    status = 400


class NotFound(DomainError):
    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409
