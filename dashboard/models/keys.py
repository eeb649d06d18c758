import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from dashboard.lib.hmac_keys import digest_secret


class ApiKey(models.Model):
    """A producer's or reader's credential, usable as an AWS access key pair for SigV4.

    Only a one-way digest of the secret is stored (see `hmac_keys`); the secret is shown once. The digest
    is secret-equivalent for SigV4, so the database must stay private. After `rotate`, the previous secret
    keeps working until `previous_secret_expires_at`, so clients can switch without an outage.
    """

    SCOPES = ("publish", "read", "admin")

    name = models.CharField(max_length=100)
    access_key_id = models.CharField(max_length=32, unique=True)
    secret_digest = models.CharField(max_length=128)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    previous_secret_digest = models.CharField(max_length=128, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.access_key_id})"

    @classmethod
    def issue(cls, name: str, scopes: list[str]) -> tuple["ApiKey", str]:
        """Create a key and return it with its secret, which is not stored and cannot be shown again."""
        unknown = set(scopes) - set(cls.SCOPES)
        if unknown:
            raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
        secret = secrets.token_urlsafe(30)
        key = cls.objects.create(
            name=name,
            access_key_id="EH" + secrets.token_hex(9).upper(),
            secret_digest=digest_secret(secret),
            scopes=sorted(set(scopes)),
        )
        return key, secret

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    def secret_digests(self) -> list[str]:
        """The digests a request may be signed with now: the current one, then the previous during its grace."""
        if (
            self.previous_secret_digest
            and self.previous_secret_expires_at
            and timezone.now() < self.previous_secret_expires_at
        ):
            return [self.secret_digest, self.previous_secret_digest]
        return [self.secret_digest]

    def check_secret(self, secret: str) -> bool:
        """Whether `secret` is the key's secret, or its previous one during the grace after a rotation."""
        try:
            candidate = digest_secret(secret)
        except ValueError:
            return False
        return any(hmac.compare_digest(candidate, digest) for digest in self.secret_digests())

    def rotate(self, grace: timedelta | None = None) -> str:
        """Give the key a new secret and return it; the old one stays valid for `grace` (default: the setting).

        Rotating again within the grace ends the older secret at once: only the last one before is kept.
        A zero grace cuts the old secret off now, as for a leaked secret.
        """
        if grace is None:
            grace = timedelta(seconds=settings.EVENTHUB["API_KEY_ROTATION_GRACE_SECONDS"])
        if grace < timedelta(0):
            raise ValueError("the grace period cannot be negative")
        secret = secrets.token_urlsafe(30)
        with transaction.atomic():
            # Re-read under a lock: rotating from a stale copy would drop the secret of a concurrent rotation.
            stored = type(self).objects.select_for_update().only("secret_digest", "revoked_at").get(pk=self.pk)
            if not stored.is_active:
                raise ValueError(f"{self.access_key_id} is revoked; issue a new key instead")
            now = timezone.now()
            self.previous_secret_digest = stored.secret_digest if grace else ""
            self.previous_secret_expires_at = now + grace if grace else None
            self.secret_digest = digest_secret(secret)
            self.rotated_at = now
            self.save(
                update_fields=["secret_digest", "previous_secret_digest", "previous_secret_expires_at", "rotated_at"]
            )
        return secret

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])
