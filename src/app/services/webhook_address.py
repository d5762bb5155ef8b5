"""Where a webhook may send: the URL's form, and the addresses its host resolves to.

A URL is checked when the webhook is created and again before every delivery, and the delivery
connects to an address this check accepted (never resolving the name a second time), so a name
that resolves elsewhere later (DNS rebinding) can't reach the private network."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from app.limits import MAX_WEBHOOK_URL
from app.settings import Settings

RESOLVE_TIMEOUT_S = 5.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(ValueError):
    """The URL may not be used; the message says why, in words for the API's user."""


@dataclass(frozen=True)
class Target:
    """A checked URL: its parts, and the resolved addresses it may connect to."""

    url: str
    scheme: str
    host: str  # as written (lowercased), without brackets
    port: int
    addresses: tuple[str, ...]


def parse_url(url: str, settings: Settings) -> SplitResult:
    """The URL's parts, if its form is acceptable (scheme, host, no credentials, length)."""
    if len(url) > MAX_WEBHOOK_URL:
        raise AddressRefused(f"The URL is longer than {MAX_WEBHOOK_URL} characters.")
    if url != url.strip() or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise AddressRefused("The URL may not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AddressRefused("The URL is not valid.") from None
    allowed = ("https",) if settings.environment == "production" else ("https", "http")
    if parts.scheme not in allowed:
        raise AddressRefused(f"The URL must start with {' or '.join(allowed)}://.")
    if not parts.hostname:
        raise AddressRefused("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise AddressRefused("The URL may not contain a user name or password.")
    if port == 0:
        raise AddressRefused("The URL's port is not valid.")
    return parts


def refusal(address: IPAddress) -> str | None:
    """Why this address may not be reached (None: it may)."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return refusal(mapped)
    for flag, what in (
        ("is_loopback", "a loopback"),
        ("is_link_local", "a link-local"),
        ("is_unspecified", "an unspecified"),
        ("is_multicast", "a multicast"),
        ("is_reserved", "a reserved"),
        ("is_private", "a private"),
    ):
        if getattr(address, flag):
            return f"{what} address ({address})"
    if not address.is_global:  # shared (100.64/10) and the other special-purpose ranges
        return f"a non-public address ({address})"
    return None


async def resolve(host: str, port: int) -> tuple[str, ...]:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_S
        )
    except (OSError, TimeoutError, UnicodeError):
        raise AddressRefused(f"The host {host} could not be resolved.") from None
    addresses = tuple(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
    if not addresses:
        raise AddressRefused(f"The host {host} could not be resolved.")
    return addresses


async def check_url(url: str, settings: Settings) -> Target:
    """The URL's target, once its form and every address its host resolves to are accepted."""
    parts = parse_url(url, settings)
    host = str(parts.hostname)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await resolve(host, port)
    if not settings.webhooks_allow_private:
        for text in addresses:
            why = refusal(ipaddress.ip_address(text))
            if why is not None:
                raise AddressRefused(f"The host {host} resolves to {why}, which is not allowed.")
    return Target(url, parts.scheme, host, port, addresses)
