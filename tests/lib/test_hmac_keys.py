"""The stored secret digest computes the same SigV4 first step as the secret itself."""

import hashlib
import hmac

from dashboard.lib.hmac_keys import digest_secret, first_sigv4_hmac, secret_matches


def test_digest_computes_the_same_hmac_as_the_secret():
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    for message in (b"", b"20261129", b"x" * 200):
        expected = hmac.new(b"AWS4" + secret.encode(), message, hashlib.sha256).digest()
        assert first_sigv4_hmac(digest_secret(secret), message) == expected


def test_digest_matches_only_its_secret():
    digest = digest_secret("right")
    assert secret_matches("right", digest)
    assert not secret_matches("wrong", digest)
