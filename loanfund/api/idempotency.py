"""Idempotency-Key for money-moving POSTs (API.md).

The key row is inserted in the same transaction as the command: a concurrent retry with the same
key blocks on the unique index until the first commits, then replays its response. An error
response rolls everything back, so nothing is remembered and a retry runs again.
"""

import hashlib
import json
from functools import wraps

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from loanfund.errors import DomainError
from loanfund.models import IdempotencyRecord
from loanfund.tenancy import fund_of

IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    description="Same key + same body returns the first response and moves no money again; same key + other body: 409.",
)


def _fingerprint(request, args, kwargs) -> str:
    body = request.data
    try:
        canonical = json.dumps(body, sort_keys=True, cls=DjangoJSONEncoder, default=str)
    except TypeError:
        canonical = repr(body)
    raw = f"{request.method} {request.path}\n{canonical}"
    return hashlib.sha256(raw.encode()).hexdigest()


def idempotent(view_method):
    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 200:
            raise DomainError("invalid_idempotency_key", "Idempotency-Key is at most 200 characters.", attr="Idempotency-Key", status=400)
        fund = fund_of(request.user)
        fingerprint = _fingerprint(request, args, kwargs)
        with transaction.atomic():
            record, created = IdempotencyRecord.objects.get_or_create(
                fund=fund, key=key, defaults={"user": request.user, "request_fingerprint": fingerprint}
            )
            if not created:
                if record.request_fingerprint != fingerprint:
                    raise DomainError("idempotency_key_reused", "This Idempotency-Key was used with a different request.",
                                      attr="Idempotency-Key", status=409)
                return Response(record.response_body, status=record.response_status, headers={"Idempotent-Replayed": "true"})
            response = view_method(self, request, *args, **kwargs)
            if response.status_code >= 400:
                transaction.set_rollback(True)
                return response
            record.response_status = response.status_code
            record.response_body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
            IdempotencyRecord.objects.filter(pk=record.pk).update(response_status=record.response_status, response_body=record.response_body)
            return response

    return wrapper
