"""SSRF guard: webhooks may only reach public addresses, checked on the resolved address at connect time.

The check runs inside the HTTP client's connector, on exactly the addresses it is about to connect to
(DNS answers and literal IPs alike), so a name that resolves to 127.0.0.1, or is re-pointed there
between a check and the request (DNS rebinding), is refused. Non-public hosts can be allowed
explicitly with settings.EVENTHUB["WEBHOOK_ALLOW_NETWORKS"] (networks like 127.0.0.0/8 or host names).
"""

import ipaddress
from collections.abc import Sequence

from aiohttp import TCPConnector
from aiohttp.abc import ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Every range a webhook may not reach, with why, in one place (IANA's special-purpose registries, plus
# multicast and the IPv6 space outside global unicast). The standard library's `is_global` is not used:
# its answers change between Python versions. IPv6 forms that carry an IPv4 address (mapped, 6to4, NAT64)
# are judged by that IPv4 address, so they appear here only through their IPv4 ranges.
REFUSED_NETWORKS: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(network), why)
    for network, why in (
        ("0.0.0.0/8", "'this network'"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local (cloud metadata endpoints)"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast (deprecated)"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved, and broadcast"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "IPv4-compatible (deprecated)"),
        ("64:ff9b:1::/48", "NAT64 for local use"),
        ("100::/64", "discard-only"),
        ("2001::/23", "IETF protocol assignments (Teredo, benchmarking, ORCHID)"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("fc00::/7", "unique local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
        ("::/3", "outside IPv6 global unicast (2000::/3)"),
        ("4000::/2", "outside IPv6 global unicast (2000::/3)"),
        ("8000::/1", "outside IPv6 global unicast (2000::/3)"),
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class DestinationRefused(OSError):
    """The destination is not a public address and no allow-list entry permits it."""


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, NAT64), so it is judged as IPv4."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address.sixtofour:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def refusal_reason(address: IPAddress) -> str | None:
    """Why `address` is not public (the REFUSED_NETWORKS entry it falls in), or None if it is public."""
    address = _embedded_ipv4(address)
    for network, why in REFUSED_NETWORKS:
        if address.version == network.version and address in network:
            return f"{why}: {network}"
    return None


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: in none of REFUSED_NETWORKS."""
    return refusal_reason(address) is None


class AllowList:
    """Networks and host names that webhooks may reach although they are not public."""

    def __init__(self, entries: Sequence[str]) -> None:
        self.networks = []
        self.hosts = set()
        for entry in entries:
            entry = entry.strip()
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.lower().rstrip("."))

    def permits(self, host: str, address: IPAddress) -> bool:
        if host.lower().rstrip(".") in self.hosts:
            return True
        return any(
            candidate.version == network.version and candidate in network
            for network in self.networks
            for candidate in {address, _embedded_ipv4(address)}
        )


def check_address(host: str, address: str, allow: AllowList) -> None:
    """Raise DestinationRefused unless `address` (what `host` resolved to) may be reached."""
    parsed = ipaddress.ip_address(address.split("%", 1)[0])
    reason = refusal_reason(parsed)
    if reason is not None and not allow.permits(host, parsed):
        raise DestinationRefused(
            f"refused to connect to {host} ({address}): not a public address ({reason}); "
            'allow it with settings.EVENTHUB["WEBHOOK_ALLOW_NETWORKS"] if it is meant to be reached'
        )


class GuardedConnector(TCPConnector):
    """A TCPConnector that drops every resolved address the guard refuses, before connecting.

    aiohttp resolves names through `_resolve_host` (literal IPs included, which skip the resolver),
    and connects only to what it returns, so filtering there covers every path to a socket.
    """

    def __init__(self, *args, allow: AllowList, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._allow = allow

    async def _resolve_host(self, host: str, port: int, traces=None) -> list[ResolveResult]:
        resolved = await super()._resolve_host(host, port, traces=traces)
        allowed = set(permitted_addresses(host, [result["host"] for result in resolved], self._allow))
        return [result for result in resolved if result["host"] in allowed]


def permitted_addresses(host: str, addresses: list[str], allow: AllowList) -> list[str]:
    """The addresses `host` resolved to that may be reached; DestinationRefused when none may."""
    permitted, refusal = [], None
    for address in addresses:
        try:
            check_address(host, address, allow)
        except DestinationRefused as error:
            refusal = error
            continue
        permitted.append(address)
    if not permitted:
        raise refusal or DestinationRefused(f"{host} did not resolve to any address")
    return permitted


def refusal_in(error: BaseException) -> DestinationRefused | None:
    """aiohttp wraps the connector's exception; find our refusal in the chain."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, DestinationRefused):
            return seen
        if isinstance(getattr(seen, "os_error", None), DestinationRefused):
            return seen.os_error
        seen = seen.__cause__ or seen.__context__
    return None
