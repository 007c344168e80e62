"""JWT authentication with the user read by one raw statement.

simplejwt reads the user with an ORM query on every request; compiling it cost more than running
it (about 0.3 ms of the 0.5 ms authentication took on the balance endpoint). The checks are
simplejwt's own, unchanged: an unknown or inactive user, or a revoked token, is refused on the
request it arrives with (nothing about the user is taken from the token but its id).

A view may read the user itself, with what it needs, in one statement (`token_user_read`: the
member's balance endpoint, its most frequent request); the same checks then apply to that user.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings

from loanfund.rows import prepared_cursor, token_users

_statements: dict = {}


def user_key(user_id):
    """`user_id` as a value of USER_ID_FIELD, or None if it is not a valid one (statements that
    read the user by it are typed)."""
    try:
        return get_user_model()._meta.get_field(api_settings.USER_ID_FIELD).to_python(user_id)
    except ValidationError:
        return None


def user_by_id(user_id):
    """The user whose USER_ID_FIELD is `user_id` (None if there is none, or if it is not a valid
    value of that field)."""
    User = get_user_model()
    users = token_users()
    key = User._meta.get_field(api_settings.USER_ID_FIELD)
    user_id = user_key(user_id)
    if user_id is None:
        return None
    statement = _statements.get((User, connection.vendor))
    if statement is None:
        statement = _statements[User, connection.vendor] = (
            f"SELECT {users.columns} FROM {connection.ops.quote_name(User._meta.db_table)} u WHERE u.{connection.ops.quote_name(key.column)} = %s")
    with prepared_cursor() as cursor:
        cursor.execute(statement, [user_id])
        row = cursor.fetchone()
    return None if row is None else users.build(row)


class JWTAuthentication(authentication.JWTAuthentication):
    # DRF makes one authenticator per request: what the request's view reads the user with.
    read = staticmethod(user_by_id)

    def authenticate(self, request):
        view = (getattr(request, "parser_context", None) or {}).get("view")
        self.read = getattr(view, "token_user_read", None) or user_by_id
        return super().authenticate(request)

    def get_user(self, validated_token):
        """The token's user, read by the view's `token_user_read(user_id)` when it has one (it
        returns the user or None, like user_by_id), and checked as simplejwt checks it."""
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as e:
            raise InvalidToken(_("Token contained no recognizable user identification")) from e
        user = self.read(user_id)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(api_settings.REVOKE_TOKEN_CLAIM) != authentication.get_md5_hash_password(
                user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user


try:  # the OpenAPI schema describes it as simplejwt's bearer scheme
    from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme

    class JWTScheme(SimpleJWTScheme):
        target_class = "loanfund.api.authentication.JWTAuthentication"
except ImportError:  # pragma: no cover - drf-spectacular is a dependency
    pass
