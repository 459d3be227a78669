"""A real HTTP receiver on 127.0.0.1 (a small http.server in a thread) and organisations
with an administrator, for the webhook tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from partners.models import Membership, Partner
from partners.services import add_member
from score_portal.models import User
from tests.factories import UserFactory
from tests.training.conftest import (  # noqa: F401 (fixtures used here)
    confirmed,
    delivered,
    four_participants,
)
from webhooks import services
from webhooks.models import Subscription


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; answers with the statuses queued in ``answers`` (then 200)."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    redirect_to: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> int:
        with self.lock:
            return self.answers.pop(0) if self.answers else 200


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
            status = receiver.answer()
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", receiver.redirect_to or "/elsewhere")
            self.send_header("Content-Type", "text/plain")
            message = f"answered {status}".encode()
            self.send_header("Content-Length", str(len(message)))
            self.end_headers()
            self.wfile.write(message)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    recorded = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorded))
    recorded.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/score"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield recorded
    server.shutdown()
    server.server_close()


@pytest.fixture
def private_targets(settings) -> None:
    """Webhooks may go to 127.0.0.1 over http (the test's receiver)."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def brand_admin(brand) -> User:
    user = UserFactory(email="admin@brand-a.example.org")
    add_member(partner=brand, user=user, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def other_brand_admin(other_brand) -> User:
    user = UserFactory(email="admin@brand-b.example.org")
    add_member(partner=other_brand, user=user, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def provider_admin(provider) -> User:
    user = UserFactory(email="admin@provider.example.org")
    add_member(partner=provider, user=user, role=Membership.Role.ADMIN)
    return user


def subscribe(
    organisation: Partner, admin: User, url: str, events: list[str] | None = None
) -> Subscription:
    return services.create_subscription(
        organisation=organisation,
        actor=admin,
        url=url,
        events=events or list(services.KINDS),
        description="Our ERP",
    )
