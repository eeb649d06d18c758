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
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class DestinationRefused(OSError):
    """The destination is not a public address and no allow-list entry permits it."""


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, Teredo, NAT64), so it is judged as IPv4."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address.sixtofour:
            return address.sixtofour
        if address.teredo:
            return address.teredo[1]
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: not loopback, private, link-local, CGNAT, reserved, documentation..."""
    address = _embedded_ipv4(address)
    return address.is_global and not address.is_multicast and not address.is_reserved


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
    if not is_public(parsed) and not allow.permits(host, parsed):
        raise DestinationRefused(
            f"refused to connect to {host} ({address}): not a public address; "
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
        permitted, refusal = [], None
        for result in resolved:
            try:
                check_address(host, result["host"], self._allow)
            except DestinationRefused as error:
                refusal = error
                continue
            permitted.append(result)
        if not permitted:
            raise refusal or DestinationRefused(f"{host} did not resolve to any address")
        return permitted
