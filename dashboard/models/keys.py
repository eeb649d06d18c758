import secrets

from django.db import models
from django.utils import timezone

from dashboard.hmac_keys import digest_secret, secret_matches


class ApiKey(models.Model):
    """A producer's or reader's credential, usable as an AWS access key pair for SigV4.

    Only a one-way digest of the secret is stored (see `hmac_keys`); the secret is shown once.
    """

    SCOPES = ("publish", "read", "admin")

    name = models.CharField(max_length=100)
    access_key_id = models.CharField(max_length=32, unique=True)
    secret_digest = models.CharField(max_length=128)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

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

    def check_secret(self, secret: str) -> bool:
        return secret_matches(secret, self.secret_digest)

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])
