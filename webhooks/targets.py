"""Where a webhook may be posted: public https addresses only.

A webhook URL is typed by a customer and fetched by our worker, inside our network: without
this check it would let anyone make the portal call its own database, Redis, the cloud's
metadata service (169.254.169.254) or an admin page on 127.0.0.1 (server-side request
forgery). So a target must be https and every address its host resolves to must be a public
one: no loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16,
fe80::/10), shared (100.64/10), multicast, reserved or unspecified address, nor one of those
wrapped in IPv6 (::ffff:127.0.0.1).

It is checked twice: when the URL is subscribed (a clear message on the form) and at every
delivery, after resolving the name again, and the connection then goes to the very address
that was checked (a name that resolves to a public address at the first look-up and to
127.0.0.1 at the second is caught: DNS rebinding). WEBHOOKS_ALLOW_PRIVATE_TARGETS (tests, a
local receiver) allows http and any address.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The URL may not receive webhooks; the message says why, for the person."""


class TargetUnresolved(TargetRefused):
    """The host name does not resolve (now): at delivery, a passing failure."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``address``) and what to ask for."""

    scheme: str
    host: str  # as written in the URL (the Host header, the TLS server name)
    port: int
    path: str  # path and query
    address: str  # the checked IP address the connection goes to


def allows_private() -> bool:
    return bool(settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS)


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_public(mapped)
    return address.is_global and not address.is_multicast


def parse(url: str) -> tuple[str, str, int, str]:
    """The URL's scheme, host, port and path; TargetRefused for one we never post to."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise TargetRefused(_("This is not a valid URL.")) from None
    schemes = ("https", "http") if allows_private() else ("https",)
    if parts.scheme not in schemes:
        raise TargetRefused(_("The URL must start with https://."))
    if parts.username is not None or parts.password is not None:
        raise TargetRefused(_("The URL must not contain a user name or password."))
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise TargetRefused(_("The URL has no host name."))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal is its own)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise TargetUnresolved(
            _("The host name %(host)s could not be resolved.") % {"host": host}
        ) from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TargetUnresolved(_("The host name %(host)s could not be resolved.") % {"host": host})
    return addresses


def check(url: str) -> Target:
    """The target ``url`` names, resolved and checked; TargetRefused (or TargetUnresolved)
    with the reason otherwise."""
    scheme, host, port, path = parse(url)
    addresses = resolve(host, port)
    if not allows_private():
        for address in addresses:
            if not is_public(address):
                raise TargetRefused(
                    _(
                        "%(host)s resolves to %(address)s, an address of a private network: "
                        "webhooks go to public addresses only."
                    )
                    % {"host": host, "address": address}
                )
    return Target(scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))
