"""Webhooks reach only public addresses unless the allow-list says otherwise, checked at connect time."""

import ipaddress

import pytest

from dashboard.delivery.destinations import (
    REFUSED_NETWORKS,
    AllowList,
    DestinationRefused,
    check_address,
    is_public,
)
from dashboard.models import Delivery
from tests.delivery_harness import make_rule_with_target, publish, running_dispatcher
from tests.waiting import wait_until

WELL_KNOWN_BLOCKED = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "240.0.0.1",
    "198.18.0.1",
    "192.0.2.1",
    "224.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::7f00:1",
    "fe80::1",
    "fc00::1",
    "fec0::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "64:ff9b::7f00:1",
    "2002:7f00:1::",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
]
# Public addresses, several just outside a refused range.
PUBLIC = [
    "1.1.1.1",
    "8.8.8.8",
    "11.0.0.1",
    "100.63.255.255",
    "100.128.0.0",
    "172.32.0.1",
    "223.255.255.254",
    "2001:4860:4860::8888",
    "2600::1",
    "::ffff:8.8.8.8",
    "2002:808:808::1",
    "64:ff9b::808:808",
]
IPV4_RANGES = [(network, why) for network, why in REFUSED_NETWORKS if network.version == 4]


def _inside(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[str]:
    """The first, second and last addresses of a range."""
    return [str(network[0]), str(network[min(1, network.num_addresses - 1)]), str(network[-1])]


def _refusal(address: str) -> str:
    with pytest.raises(DestinationRefused) as refused:
        check_address("example.com", address, AllowList([]))
    return str(refused.value)


@pytest.mark.parametrize(("network", "why"), REFUSED_NETWORKS, ids=[str(n) for n, _ in REFUSED_NETWORKS])
def test_every_listed_range_is_refused_from_first_to_last_address(network, why):
    for address in _inside(network):
        assert not is_public(ipaddress.ip_address(address)), address
        assert "not a public address" in _refusal(address)


@pytest.mark.parametrize(("network", "why"), IPV4_RANGES, ids=[str(n) for n, _ in IPV4_RANGES])
def test_every_listed_ipv4_range_is_refused_in_its_ipv6_forms(network, why):
    for address in map(ipaddress.IPv4Address, _inside(network)):
        mapped = ipaddress.IPv6Address(f"::ffff:{address}")
        six_to_four = ipaddress.IPv6Address((0x2002 << 112) | (int(address) << 80))
        nat64 = ipaddress.IPv6Address(f"64:ff9b::{address}")
        for form in (mapped, six_to_four, nat64):
            assert why in _refusal(str(form)), form


def test_site_local_ipv6_is_refused_with_its_reason():
    assert "site-local (deprecated): fec0::/10" in _refusal("fec0::1")


@pytest.mark.parametrize("address", WELL_KNOWN_BLOCKED)
def test_well_known_non_public_addresses_are_refused(address):
    assert not is_public(ipaddress.ip_address(address))
    _refusal(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address):
    check_address("example.com", address, AllowList([]))


def test_allow_list_permits_a_network_including_its_mapped_form():
    allow = AllowList(["127.0.0.0/8"])
    check_address("localhost", "127.0.0.1", allow)
    check_address("localhost", "::ffff:127.0.0.1", allow)
    with pytest.raises(DestinationRefused):
        check_address("internal", "10.0.0.1", allow)


def test_allow_list_permits_a_host_name():
    check_address("receiver.internal", "10.0.0.7", AllowList(["receiver.internal"]))


@pytest.fixture
def strict(fast, settings):
    settings.EVENTHUB = {**settings.EVENTHUB, "WEBHOOK_ALLOW_NETWORKS": []}


def _refused_delivery() -> Delivery | None:
    return Delivery.objects.filter(state=Delivery.State.DEAD).first()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hook",
        "http://[::ffff:127.0.0.1]:{port}/hook",
        "http://localhost:{port}/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433:{port}/hook",
        "http://[fec0::1]:{port}/hook",
    ],
    ids=["literal-ip", "ipv4-mapped-ipv6", "name-resolving-to-loopback", "cloud-metadata", "decimal-ip", "site-local"],
)
def test_webhook_to_a_private_destination_is_refused_and_dead_lettered(strict, receiver, url):
    make_rule_with_target(url.format(port=receiver.port))
    publish()
    with running_dispatcher():
        delivery = wait_until(_refused_delivery, message="the delivery to be refused")
    assert delivery.dead_reason == Delivery.DeadReason.DESTINATION_REFUSED
    assert delivery.attempts == 1
    assert receiver.requests() == []


@pytest.mark.django_db(transaction=True)
def test_allow_list_lets_the_same_delivery_through(fast, receiver):
    make_rule_with_target(f"http://localhost:{receiver.port}/hook")
    publish()
    with running_dispatcher():
        wait_until(lambda: receiver.requests("/hook"), message="a delivery")
    assert Delivery.objects.get().state == Delivery.State.SUCCEEDED
