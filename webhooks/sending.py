"""One HTTP POST to a checked target (webhooks.targets), with urllib3 (installed with the
portal's other dependencies: no new one).

The connection goes to the address that was checked, not to a second look-up of the name;
the name still goes in the Host header and, for https, in the TLS server name and the
certificate check. Redirects are not followed (a 3xx is a failed attempt: a redirect could
point anywhere, our own network included). Connect and read timeouts are short; only the
first bytes of the answer are read.
"""

from __future__ import annotations

from dataclasses import dataclass

import urllib3

from webhooks.targets import Target

TIMEOUT = urllib3.Timeout(connect=5.0, read=5.0)
READ_AT_MOST = 1024
USER_AGENT = "SCORE-Portal-Webhooks/1.0"


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str


class SendError(Exception):
    """The receiver could not be reached or did not answer in time."""


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def post(target: Target, body: bytes, headers: dict[str, str]) -> Answer:
    """POST ``body`` to ``target``; the answer's status and first bytes, or SendError."""
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=TIMEOUT,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(
            target.address, target.port, timeout=TIMEOUT, retries=False, maxsize=1
        )
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={
                **headers,
                "Host": _host_header(target),
                "User-Agent": USER_AGENT,
                "Content-Type": "application/json",
            },
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            excerpt = response.read(READ_AT_MOST, decode_content=False)
        finally:
            response.release_conn()
        return Answer(status=response.status, excerpt=excerpt.decode("utf-8", "replace"))
    except urllib3.exceptions.HTTPError as error:
        raise SendError(f"{type(error).__name__}: {error}") from None
    finally:
        pool.close()
