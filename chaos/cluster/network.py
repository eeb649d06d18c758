"""Hosts on one machine: Linux network namespaces joined by a bridge in a private /24 only they use.

Each host (`db`, `rx`, `h1`, `h2`, ...) is a namespace `eh-<role>-<tag>` with one veth into the bridge
`eh<tag>br`, which carries the subnet's first address in the root namespace, where the test driver runs.
`cut(role)` sets the host's veth down in the root namespace: to the rest of the cluster the host is
gone (no RST, no ICMP, packets just vanish) while its processes keep running, as on a partitioned box.

The tag (the driver's pid by default) keeps two runs apart; `remove(tag)` deletes whatever a run with
that tag left behind (a driver killed with SIGKILL cannot clean up after itself).
"""

import contextlib
import ipaddress
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

# Private test subnets: 10.213.<n>.0/24, one per run: the first free one from a place the tag picks.
SUBNET_PREFIX = "10.213"
ADDRESS_OF = {"db": 2, "rx": 3}  # and h<n>: 10 + n


def _ip(*args: str, namespace: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    command = ["ip", *(["-n", namespace] if namespace else []), *args]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=30)
    if check and completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {completed.stderr.strip()}")
    return completed


def unavailable() -> str | None:
    """None when network namespaces can be made here, else why not (for a skip message)."""
    if os.geteuid() != 0:
        return "network namespaces need root (run as root, as CI does)"
    if not shutil.which("ip"):
        return "the `ip` command (iproute2) is not installed"
    probe = f"eh-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, timeout=30)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=30)
    return None


def _free_subnet(tag: str) -> ipaddress.IPv4Network:
    taken = {
        int(n) for n in re.findall(rf"inet {re.escape(SUBNET_PREFIX)}\.(\d+)\.", _ip("-4", "-o", "addr", "show").stdout)
    }
    start = int(tag) if tag.isdigit() else 0
    for offset in range(254):
        third = (start + offset) % 254 + 1
        if third not in taken:
            return ipaddress.ip_network(f"{SUBNET_PREFIX}.{third}.0/24")
    raise RuntimeError(f"no free {SUBNET_PREFIX}.x.0/24 test subnet")


@dataclass
class Host:
    role: str
    namespace: str
    veth: str  # the root-namespace end; the host's end is `eth0` inside its namespace
    address: str

    def command(self, argv: list[str]) -> list[str]:
        """`argv` run inside this host (`ip netns exec` execs it: the pid is the command's own)."""
        return ["ip", "netns", "exec", self.namespace, *argv]


class Network:
    def __init__(self, roles: list[str], tag: str | None = None) -> None:
        self.tag = tag or str(os.getpid())
        self.roles = roles
        self.bridge = f"eh{self.tag}br"
        self.subnet: ipaddress.IPv4Network | None = None
        self.hosts: dict[str, Host] = {}

    @property
    def gateway(self) -> str:
        """The driver's address (the bridge's, in the root namespace)."""
        return str(self.subnet.network_address + 1)

    def __enter__(self) -> "Network":
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _build(self) -> None:
        self.subnet = _free_subnet(self.tag)
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for role in self.roles:
            number = ADDRESS_OF.get(role) or 10 + int(role.removeprefix("h"))
            host = Host(role, f"eh-{role}-{self.tag}", f"eh{self.tag}{role}", str(self.subnet.network_address + number))
            self.hosts[role] = host
            _ip("netns", "add", host.namespace)
            _ip("link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", host.namespace)
            _ip("link", "set", host.veth, "master", self.bridge, "up")
            _ip("addr", "add", f"{host.address}/24", "dev", "eth0", namespace=host.namespace)
            _ip("link", "set", "eth0", "up", namespace=host.namespace)
            _ip("link", "set", "lo", "up", namespace=host.namespace)

    def cut(self, role: str) -> None:
        _ip("link", "set", self.hosts[role].veth, "down")

    def restore(self, role: str) -> None:
        _ip("link", "set", self.hosts[role].veth, "up")

    def close(self) -> None:
        remove(self.tag)


def _our_namespaces(tag: str) -> Iterator[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith("eh-") and name.endswith(f"-{tag}"):
            yield name


def remove(tag: str) -> None:
    """Kill every process left in this run's namespaces, then delete them, their veths and the bridge."""
    for namespace in _our_namespaces(tag):
        pids = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True, timeout=30)
        for pid in pids.stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        _ip("netns", "del", namespace, check=False)
    ours = re.compile(rf"eh{re.escape(tag)}(br|db|rx|h\d+)")
    for name in re.findall(r"^\d+: ([^:@]+)", _ip("-o", "link", "show").stdout, re.MULTILINE):
        if ours.fullmatch(name):
            _ip("link", "del", name, check=False)
