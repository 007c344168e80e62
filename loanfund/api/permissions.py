from rest_framework.permissions import BasePermission

from loanfund import roles
from loanfund.tenancy import fund_of, user_roles

STAFF = roles.STAFF_ROLES


class RolePermission(BasePermission):
    """Allows a request when the user has one of the roles the view names for its action.

    Views declare `permitted_roles` (default for every action) and optionally `permitted_roles_by_action` /
    `permitted_roles_by_method`. A user with no fund never passes.
    """

    message = "Your role does not allow this action."

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if fund_of(user) is None:
            return False
        allowed = allowed_roles(view, request)
        return bool(user_roles(user) & set(allowed))


def allowed_roles(view, request):
    action = getattr(view, "action", None)
    by_action = getattr(view, "permitted_roles_by_action", {}) or {}
    if action and action in by_action:
        return by_action[action]
    by_method = getattr(view, "permitted_roles_by_method", {}) or {}
    if request.method in by_method:
        return by_method[request.method]
    return getattr(view, "permitted_roles", ())
