"""What an operator changes from the dashboard or the admin: rules, targets (and pausing them), signing
secrets and API keys. Each function does the change and writes its audit entry, so no caller can do one
without the other."""

from datetime import timedelta

from django.db import transaction

from dashboard.audit import Action, record_audit
from dashboard.delivery import pausing
from dashboard.models import ApiKey, Rule, Target
from dashboard.models.rules import new_signing_secret


@transaction.atomic
def save_rule(form, *, user) -> Rule:
    """Create or edit a rule from a valid rule form, recording who and which fields changed."""
    rule = form.save(commit=False)
    created = rule.pk is None
    if created:
        rule.created_by = user
    rule.updated_by = user
    rule.save()
    action = Action.RULE_CREATE if created else Action.RULE_EDIT
    record_audit(action, f"rule {rule}", user=user, detail={"changed": form.changed_data})
    return rule


@transaction.atomic
def save_target(form, *, user) -> Target:
    """Create or edit a target from a valid target form (its rule is set on the form's instance)."""
    created = form.instance.pk is None
    target = form.save()
    action = Action.TARGET_CREATE if created else Action.TARGET_EDIT
    record_audit(action, f"target {target}", user=user, detail={"changed": form.changed_data})
    return target


@transaction.atomic
def delete_rule(rule: Rule, *, user) -> None:
    """Delete a rule and, with it, its targets (named in the audit entry)."""
    targets = sorted(rule.targets.values_list("name", flat=True))
    subject = f"rule {rule}"
    rule.delete()
    record_audit(Action.RULE_DELETE, subject, user=user, detail={"targets": targets} if targets else None)


@transaction.atomic
def delete_target(target: Target, *, user) -> None:
    subject = f"target {target}"
    target.delete()
    record_audit(Action.TARGET_DELETE, subject, user=user)


@transaction.atomic
def save_target_formset(formset, *, user) -> None:
    """Save a rule's targets edited inline (the admin's rule page): each one added, changed or deleted is
    audited like a target saved on its own."""
    formset.save()
    for target in formset.new_objects:
        record_audit(Action.TARGET_CREATE, f"target {target}", user=user)
    for target, changed in formset.changed_objects:
        record_audit(Action.TARGET_EDIT, f"target {target}", user=user, detail={"changed": changed})
    for target in formset.deleted_objects:
        record_audit(Action.TARGET_DELETE, f"target {target}", user=user)


@transaction.atomic
def set_rule_enabled(rule: Rule, enabled: bool, *, user) -> None:
    rule.state = Rule.State.ENABLED if enabled else Rule.State.DISABLED
    rule.updated_by = user
    rule.save(update_fields=["state", "updated_by", "updated_at"])
    record_audit(Action.RULE_ENABLE if enabled else Action.RULE_DISABLE, f"rule {rule}", user=user)


@transaction.atomic
def set_target_enabled(target: Target, enabled: bool, *, user) -> None:
    """Enabling also clears why the worker disabled it (a 410 Gone), which the audit entry keeps."""
    detail = {"was_disabled_because": target.disabled_reason} if enabled and target.disabled_reason else {}
    target.enabled = enabled
    target.save()
    record_audit(
        Action.TARGET_ENABLE if enabled else Action.TARGET_DISABLE, f"target {target}", user=user, detail=detail
    )


@transaction.atomic
def pause_target(target: Target, *, user) -> bool:
    """Pause by hand, as the worker does for a failing target: deliveries wait, probes test it. False (and
    nothing audited) when it was paused already."""
    if not pausing.pause_target(target.pk, f"paused by {user.get_username()}"):
        return False
    record_audit(Action.TARGET_PAUSE, f"target {target}", user=user)
    return True


@transaction.atomic
def resume_target(target: Target, *, user) -> int | None:
    """Resume by hand: what waited is sent now. The number of deliveries released, or None (and nothing
    audited) when it was not paused."""
    # Locked until commit: of two operators resuming at once, one resumes and the other is told it was not paused.
    paused = Target.objects.select_for_update().filter(pk=target.pk, paused_at__isnull=False)
    reason = paused.values_list("paused_reason", flat=True).first()
    if reason is None:
        return None
    released = len(pausing.resume_target(target.pk, f"resumed by {user.get_username()}"))
    record_audit(
        Action.TARGET_RESUME, f"target {target}", user=user, count=released, detail={"was_paused_because": reason}
    )
    return released


@transaction.atomic
def rotate_signing_secret(target: Target, *, user) -> str:
    """Give the target a new signing secret and return it: it is shown once, to be given to the receiver."""
    target.signing_secret = new_signing_secret()
    target.save(update_fields=["signing_secret", "updated_at"])
    record_audit(Action.SECRET_ROTATE, f"target {target}", user=user)
    return target.signing_secret


@transaction.atomic
def issue_api_key(name: str, scopes: list[str], *, user) -> tuple[ApiKey, str]:
    """A new key and its secret, which is not stored: shown once."""
    key, secret = ApiKey.issue(name, scopes)
    record_audit(Action.KEY_CREATE, f"API key {key}", user=user, detail={"scopes": key.scopes})
    return key, secret


@transaction.atomic
def rotate_api_key(key: ApiKey, *, user=None, actor: str = "", grace: timedelta | None = None) -> str:
    """A new secret for the key, returned to be shown once; the old one keeps working for the grace period
    (the setting's unless given). ValueError for a grace out of range."""
    secret = key.rotate(grace=grace)
    detail = (
        {"old_secret_valid_until": key.previous_secret_expires_at.isoformat()} if key.previous_secret_expires_at else {}
    )
    record_audit(Action.KEY_ROTATE, f"API key {key}", user=user, actor=actor, detail=detail)
    return secret


@transaction.atomic
def revoke_api_key(key: ApiKey, *, user) -> bool:
    """False when it was revoked already."""
    if not key.is_active:
        return False
    key.revoke()
    record_audit(Action.KEY_REVOKE, f"API key {key}", user=user)
    return True
