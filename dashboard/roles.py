"""Who may do what on the dashboard. Any signed-in user may look; changing dead letters (redrive,
purge) needs the `dashboard.redrive_delivery` permission, which the "operators" group carries.

The group is made after every `migrate` (no data migration), so a fresh install has it and an admin
only has to put people in it.
"""

from django.contrib.auth.models import Group, Permission

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
