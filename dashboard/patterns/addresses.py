"""IP addresses as EventBridge reads them, for ``cidr`` and for exact values that are IP literals.

AWS only treats a string as an address when it looks like one (digits and dots, or hex digits and
colons) and then parses it; an address is compared as its bytes, so "::1" and "0:0::1" are equal.
"""

import ipaddress
import re
from dataclasses import dataclass

__all__ = ["IpRange", "ip_key", "parse_cidr"]

_IPV4 = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6 = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")
_MASK = re.compile(r"[+-]?[0-9]+")
_INT32 = range(-(2**31), 2**31)


def _looks_like_ip(text: str) -> bool:
    return bool(_IPV4.fullmatch(text) or _IPV6.fullmatch(text))


def _address(text: str) -> tuple[int, int] | None:
    """(bit length, integer) of an address literal; IPv4-mapped IPv6 counts as IPv4, as in Java."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.max_prefixlen, int(address)


def ip_key(text: str) -> tuple[int, int] | None:
    """The comparable form of a string if it is an IP address literal, else None."""
    return _address(text) if _looks_like_ip(text) else None


@dataclass(frozen=True, slots=True)
class IpRange:
    """Addresses from ``low`` to ``high`` inclusive, all of one bit length (32 or 128)."""

    bits: int
    low: int
    high: int

    def contains(self, value: object) -> bool:
        if type(value) is not str:
            return False
        key = ip_key(value)
        return key is not None and key[0] == self.bits and self.low <= key[1] <= self.high


def _java_split_on_slash(text: str) -> list[str]:
    # Java's String.split drops trailing empty strings, which decides AWS's "one '/' required" error.
    if "/" not in text:
        return [text]
    parts = text.split("/")
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def parse_cidr(text: str) -> IpRange:
    """Parse a ``cidr`` operand; ValueError carries AWS's reason.

    As in AWS, the range starts at the address as written (host bits are not cleared) and a mask must
    leave at least one host bit (IPv4 /32 and IPv6 /128 are rejected).
    """
    parts = _java_split_on_slash(text)
    if len(parts) != 2:
        raise ValueError("Malformed CIDR, one '/' required")
    address_text, mask_text = parts
    if not _MASK.fullmatch(mask_text) or int(mask_text) not in _INT32:
        raise ValueError("Malformed CIDR, mask bits must be an integer")
    mask = int(mask_text)
    if mask < 0:
        raise ValueError("Malformed CIDR, mask bits must not be negative")
    if not _looks_like_ip(address_text):
        raise ValueError(f"Nonstandard IP address: {address_text}")
    address = _address(address_text)
    if address is None:
        raise ValueError(f"Invalid IP address: {address_text}")
    bits, low = address
    if mask >= bits:
        raise ValueError(f"IPv{4 if bits == 32 else 6} mask bits must be < {bits}")
    return IpRange(bits, low, low | ((1 << (bits - mask)) - 1))
