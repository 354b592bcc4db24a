"""The one place a webhook leaves the platform: an HTTP POST with a hard timeout, no redirects,
and (unless settings allow it) no private, loopback or link-local destinations, so an endpoint URL
cannot be used to reach the platform's own network. The address checked is the address the POST
goes to: the host is not asked again (DNS rebinding). Tests run a real receiver on 127.0.0.1 with
WEBHOOKS_ALLOW_PRIVATE_NETWORKS on."""

import http.client
import ipaddress
import re
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


@dataclass(frozen=True)
class Response:
    status_code: int | None
    latency_ms: int
    error: str = ""
    excerpt: str = ""

    @property
    def is_success(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a 3xx is an answer like any other non-2xx, never followed


_opener = urllib.request.build_opener(_NoRedirect)


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _addresses_within(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list:
    """The address, and the IPv4 address an IPv6 one carries (mapped, compatible, 6to4, Teredo,
    NAT64): a packet sent to the one may reach the other."""
    found = [address]
    if isinstance(address, ipaddress.IPv6Address):
        last32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.extend(address.teredo)
        if any(address in network for network in _NAT64) or (
            address in _IPV4_COMPATIBLE and int(address) > 1
        ):
            found.append(last32)
    return found


_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_BAD_URL = "not a valid URL: check the host and the port (1 to 65535)"


def _host_problem(hostname: str) -> str:
    """Why the URL's host is no host a POST can go to ("" when it is): an IP address, or a DNS
    name of labels of 1 to 63 letters, digits and hyphens (an international name as IDNA), at
    most 253 characters, one trailing dot at most."""
    if "%" in hostname:  # an IPv6 zone: an interface of this machine, nobody's endpoint
        return "the host may not name a network interface (%)"
    try:
        ipaddress.ip_address(hostname)
        return ""
    except ValueError:
        pass
    name = hostname[:-1] if hostname.endswith(".") else hostname
    try:
        encoded = name.encode("idna").decode("ascii")
    except UnicodeError:
        return "the host is not a valid name"
    if len(encoded) > 253 or not all(_LABEL.fullmatch(label) for label in encoded.split(".")):
        return "the host is not a valid name"
    return ""


def _checked(url: str) -> tuple[str, tuple[str, int] | None]:
    """Why a URL may not receive webhooks ("" when it may), and the address it resolved to when
    private networks are refused: the POST goes to that address, so a host that answers with
    another address the next time it is asked (DNS rebinding) is not asked again."""
    try:
        parts = urlsplit(url)
        hostname, port = parts.hostname, parts.port
    except ValueError:  # an unclosed or invalid [IPv6] host, or a port that is not 0-65535
        return _BAD_URL, None
    allowed = ("https", "http") if settings.WEBHOOKS_ALLOW_HTTP else ("https",)
    if parts.scheme not in allowed:
        return f"the URL must start with {' or '.join(s + '://' for s in allowed)}", None
    if not hostname:
        return "the URL has no host", None
    if parts.username or parts.password:
        return "the URL may not carry a user name or password", None
    if port == 0:
        return _BAD_URL, None
    problem = _host_problem(hostname)
    if problem:
        return problem, None
    if settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS:
        return "", None
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return "the host does not resolve", None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not all(within.is_global for within in _addresses_within(address)):
            return "the host resolves to a private, loopback or reserved address", None
    if not infos:
        return "the host does not resolve", None
    return "", (infos[0][4][0], port)


def url_problem(url: str) -> str:
    """Why a URL may not receive webhooks, or "" when it may."""
    return _checked(url)[0]


def _pinned(connection_class, address: tuple[str, int]):
    """An http.client connection class's constructor whose socket goes to `address` whatever the
    host (TLS still checks the certificate against the host's name; Host still names it)."""

    def connection(host, **kwargs):
        made = connection_class(host, **kwargs)
        made._create_connection = lambda _where, *args: socket.create_connection(address, *args)
        return made

    return connection


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, address: tuple[str, int]):
        super().__init__()
        self.address = address

    def http_open(self, req):
        return self.do_open(_pinned(http.client.HTTPConnection, self.address), req)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, address: tuple[str, int]):
        super().__init__()
        self.address = address

    def https_open(self, req):
        return self.do_open(_pinned(http.client.HTTPSConnection, self.address), req, context=self._context)


def _opener_for(address: tuple[str, int] | None):
    if address is None:
        return _opener
    return urllib.request.build_opener(_NoRedirect, _PinnedHTTPHandler(address), _PinnedHTTPSHandler(address))


def post(url: str, body: bytes, headers: dict[str, str]) -> Response:
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    problem, address = _checked(url)
    if problem:
        return Response(None, elapsed(), error=problem)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked above
    try:
        with _opener_for(address).open(request, timeout=settings.WEBHOOKS_TIMEOUT_SECONDS) as reply:
            excerpt = reply.read(500).decode("utf-8", "replace")
            return Response(reply.status, elapsed(), excerpt=excerpt)
    except urllib.error.HTTPError as exc:
        excerpt = exc.read(500).decode("utf-8", "replace") if exc.fp else ""
        return Response(exc.code, elapsed(), error=f"HTTP {exc.code}", excerpt=excerpt)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Response(None, elapsed(), error=f"{type(exc).__name__}: {reason}"[:300])
