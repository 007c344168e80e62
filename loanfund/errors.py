"""The one domain error type. Services raise it; the API maps it to a 4xx with its code."""


class DomainError(Exception):
    """A business rule refused the command. Nothing was written.

    `code` is machine-readable (API.md), `attr` the field at fault or None, `status` the HTTP status.
    """

    status = 409

    def __init__(self, code: str, detail: str, *, attr: str | None = None, status: int | None = None, extra=None):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.attr = attr
        if status is not None:
            self.status = status
        self.extra = extra or {}


class InvalidState(DomainError):
    def __init__(self, detail: str, *, attr: str | None = None):
        super().__init__("invalid_state", detail, attr=attr, status=409)


class RuleViolation(DomainError):
    """A rule about the request's content (exposure cap, eligibility...): 400 unless told."""

    status = 400


class NotFound(DomainError):
    def __init__(self, detail: str = "Not found.", *, attr: str | None = None):
        super().__init__("not_found", detail, attr=attr, status=404)
