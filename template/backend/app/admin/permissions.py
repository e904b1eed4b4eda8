"""Who may do what: each role's permissions, in one table, and the dependency routes use.

A route either needs a permission (`dependencies=[require("users:read")]`), or is open to anyone
(OPEN), or serves signed-in users their own data (OWN_DATA). tests/admin/test_permissions.py fails
on a route that is none of these, so a new route cannot forget to decide.
"""

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

from app.accounts import mfa
from app.accounts.deps import CurrentUser, get_current_user
from app.api.errors import mfa_required

ROLES = ("member", "admin")
PERMISSIONS: dict[str, frozenset[str]] = {
    "member": frozenset(),
    "admin": frozenset({"users:read", "users:manage", "audit:read"}),
}
# Path prefixes under /api/v1 that need no permission: anyone may call them...
OPEN = ("/api/v1/auth/",)
# ...or a signed-in user calls them on their own data (an item of another user is a 404).
OWN_DATA = (
    "/api/v1/users/me",
    "/api/v1/items",
)


def can(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())


def require(permission: str) -> Any:
    """A route dependency: 403 unless the signed-in user's role has `permission` (and, with
    REQUIRE_MFA_FOR_ADMINS, a second factor)."""

    async def check(
        request: Request, user: Annotated[CurrentUser, Depends(get_current_user)]
    ) -> CurrentUser:
        if not can(user.role, permission):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "You do not have permission to do that.")
        state = request.app.state
        if state.settings.require_mfa_for_admins:
            async with state.sessionmaker() as session:
                if not await mfa.has_second_factor(session, user.id):
                    raise mfa_required()
        return user

    check.permission = permission  # type: ignore[attr-defined]  (read by the permissions test)
    return Depends(check)
