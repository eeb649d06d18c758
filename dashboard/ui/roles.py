"""Who may do what on the dashboard. Any signed-in user may look; changing anything (redrive and purge
dead letters, replays and rebuilds, rules, targets and API keys) needs the `dashboard.redrive_delivery`
permission, which the "operators" group carries: one role, one check (`is_operator`).

The group is made after every `migrate` (no data migration), so a fresh install has it and an admin
only has to put people in it.
"""

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied

OPERATORS_GROUP = "operators"
REDRIVE_PERMISSION = "dashboard.redrive_delivery"


def ensure_operator_group(**kwargs) -> Group:
    """Create the operators group with the redrive permission if either is missing (post_migrate hook)."""
    group, _ = Group.objects.get_or_create(name=OPERATORS_GROUP)
    app_label, codename = REDRIVE_PERMISSION.split(".")
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    if permission is not None:
        group.permissions.add(permission)
    return group


def is_operator(user) -> bool:
    return user.has_perm(REDRIVE_PERMISSION)


def require_operator(user) -> None:
    """Raise PermissionDenied (a 403 page) unless `user` has the operator role."""
    if not is_operator(user):
        raise PermissionDenied("This needs the operator role (the operators group).")
