"""One application-error handler: every error leaves in the API.md shape.

{"type": "validation_error" | "client_error", "errors": [{"code", "detail", "attr"}]}
"""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, IntegrityError
from django.http import JsonResponse
from drf_standardized_errors.handler import ExceptionHandler as BaseExceptionHandler
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from loanfund.errors import DomainError
from loanfund.models.ledger import ImmutableError
from loanfund.money import AmountError

log = logging.getLogger(__name__)


def error_body(code: str, detail: str, attr: str | None = None, *, error_type: str = "client_error", extra=None) -> dict:
    error = {"code": code, "detail": detail, "attr": attr}
    if extra:
        error.update(extra)
    return {"type": error_type, "errors": [error]}


class ExceptionHandler(BaseExceptionHandler):
    def run(self):
        exc = self.exc
        if isinstance(exc, DomainError):
            set_rollback()
            error_type = "validation_error" if exc.status == 400 else "client_error"
            return Response(error_body(exc.code, exc.detail, exc.attr, error_type=error_type, extra=exc.extra or None), status=exc.status)
        if isinstance(exc, AmountError):
            set_rollback()
            return Response(error_body(exc.code, exc.detail, "amount", error_type="validation_error"), status=400)
        if isinstance(exc, ImmutableError):
            set_rollback()
            return Response(error_body("immutable", str(exc)), status=status.HTTP_409_CONFLICT)
        if isinstance(exc, IntegrityError):
            # A race lost against a unique constraint: the other request won, nothing was written here.
            set_rollback()
            log.info("integrity conflict: %s", exc)
            return Response(error_body("conflict", "The request conflicts with a concurrent change; retry."), status=409)
        if isinstance(exc, DatabaseError) and "could not serialize" in str(exc):
            set_rollback()
            return Response(error_body("conflict", "Concurrent update; retry."), status=409)
        return super().run()

    def convert_known_exceptions(self, exc):
        if isinstance(exc, DjangoValidationError):
            return exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
        return super().convert_known_exceptions(exc)


class ConflictErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="invalid_state, idempotency_key_reused, four_eyes_violation, report_finalised, ...")
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ConflictErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["client_error"])
    errors = ConflictErrorSerializer(many=True)


def _json(code, detail, status_code):
    return JsonResponse(error_body(code, detail), status=status_code)


def handler400(request, exception=None):
    return _json("bad_request", "Bad request.", 400)


def handler403(request, exception=None):
    return _json("permission_denied", "You do not have permission to perform this action.", 403)


def handler404(request, exception=None):
    return _json("not_found", "Not found.", 404)


def handler500(request):
    return JsonResponse({"type": "server_error", "errors": [{"code": "error", "detail": "Server Error (500)", "attr": None}]}, status=500)
