"""Store API secrets one-way yet still verify AWS SigV4 signatures made with them.

SigV4 starts with HMAC-SHA256(key="AWS4" + secret, date). HMAC only ever feeds the key to SHA-256 as
two 64-byte blocks (key XOR ipad, key XOR opad), so the SHA-256 state after each block — the
"midstate" — is all we need to compute that HMAC for any date, and it does not reveal the secret.
We store those two midstates. hashlib cannot resume from a saved state, hence the small compression
function below; a test checks it against `hmac`.
"""

import hmac
import struct

_K = (
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
)  # fmt: skip
_IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)
_MASK = 0xFFFFFFFF


def _rotr(x: int, n: int) -> int:
    return ((x >> n) | (x << (32 - n))) & _MASK


def _compress(state: tuple[int, ...], block: bytes) -> tuple[int, ...]:
    w = list(struct.unpack(">16I", block))
    for i in range(16, 64):
        s0 = _rotr(w[i - 15], 7) ^ _rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
        s1 = _rotr(w[i - 2], 17) ^ _rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
        w.append((w[i - 16] + s0 + w[i - 7] + s1) & _MASK)
    a, b, c, d, e, f, g, h = state
    for i in range(64):
        t1 = (h + (_rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)) + ((e & f) ^ (~e & g)) + _K[i] + w[i]) & _MASK
        t2 = ((_rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) & _MASK
        a, b, c, d, e, f, g, h = (t1 + t2) & _MASK, a, b, c, (d + t1) & _MASK, e, f, g
    return tuple((x + y) & _MASK for x, y in zip(state, (a, b, c, d, e, f, g, h), strict=True))


def _finish(state: tuple[int, ...], message: bytes) -> bytes:
    """SHA-256 of (one already-compressed 64-byte block + message), resumed from `state`."""
    length_bits = (64 + len(message)) * 8
    padded = message + b"\x80" + b"\x00" * ((55 - len(message)) % 64) + struct.pack(">Q", length_bits)
    for offset in range(0, len(padded), 64):
        state = _compress(state, padded[offset : offset + 64])
    return struct.pack(">8I", *state)


def _signing_key(secret: str) -> bytes:
    key = b"AWS4" + secret.encode()
    if len(key) > 64:
        raise ValueError("secret too long for a one-block HMAC key")
    return key.ljust(64, b"\x00")


def digest_secret(secret: str) -> str:
    """The stored form of a secret: the SHA-256 midstates of its HMAC inner and outer key blocks."""
    key = _signing_key(secret)
    inner = _compress(_IV, bytes(b ^ 0x36 for b in key))
    outer = _compress(_IV, bytes(b ^ 0x5C for b in key))
    return struct.pack(">16I", *inner, *outer).hex()


def secret_matches(secret: str, digest: str) -> bool:
    try:
        candidate = digest_secret(secret)
    except ValueError:
        return False
    return hmac.compare_digest(candidate, digest)


def first_sigv4_hmac(digest: str, message: bytes) -> bytes:
    """HMAC-SHA256(key="AWS4"+secret, message) computed from the stored digest alone."""
    words = struct.unpack(">16I", bytes.fromhex(digest))
    inner = _finish(words[:8], message)
    return _finish(words[8:], inner)
