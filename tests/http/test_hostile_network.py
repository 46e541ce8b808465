"""Hostile networks on a real uvicorn, run as `python -m app` runs it (issue 27): forged
X-Forwarded-For from a peer that is not a trusted proxy, clients that stop reading, bodies that
trickle in."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.http.auth import digest_of
from tests.uvicorn_process import ServedApp, uvicorn_process

FAKE_APP = "tests.load.fake_app:create_fake_app"
LONG_ANSWER_APP = "tests.http.long_answer_app:create_long_answer_app"
KEY = "a-valid-key-for-the-hostile-network-tests"
# The test client connects from 127.0.0.1; only 10.0.0.0/8 is trusted, so it is not a proxy.
NOT_OUR_PROXY = {"FMT_TRUSTED_PROXIES": "10.0.0.0/8", "FAKE_FAILURE_RATE": "0"}


def serve(factory: str, environment: dict[str, str]) -> AbstractContextManager[ServedApp]:
    return uvicorn_process(
        factory, environment={"HF_HUB_OFFLINE": "1", **environment}, as_main=True
    )


def forged(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def test_a_forged_address_from_an_untrusted_peer_changes_neither_its_pace_nor_its_rights() -> None:
    limits = {"FMT_LIMITS__RATE_LIMIT_PER_MINUTE": "1", "FMT_LIMITS__BURST": "1"}
    with (
        serve(FAKE_APP, {**NOT_OUR_PROXY, **limits}) as served,
        httpx.Client(base_url=served.url, timeout=10) as client,
    ):
        answers = [
            client.post("/rag", json={"question": "q"}, headers=forged(address)).status_code
            for address in ("203.0.113.1", "203.0.113.2")
        ]
        # The real peer is loopback, which may read /ready's details; a forged public address
        # does not take that away (nor, the other way round, could it grant it).
        ready = client.get("/ready", headers=forged("203.0.113.9")).json()

    assert answers == [200, 429]  # one client, whatever it claims to be
    assert ready["backends"] is not None


def test_a_forged_address_neither_escapes_nor_spreads_the_failed_key_pacing() -> None:
    environment = {
        **NOT_OUR_PROXY,
        "FMT_API_KEYS": digest_of(KEY),
        "FMT_LIMITS__FAILED_AUTH_PER_MINUTE": "2",
    }
    with (
        serve(FAKE_APP, environment) as served,
        httpx.Client(base_url=served.url, timeout=10) as client,
    ):
        guesses = [
            client.post(
                "/rag",
                json={"question": "q"},
                headers={"X-API-Key": f"guess-{n}", **forged(f"203.0.113.{n}")},
            ).status_code
            for n in range(1, 4)
        ]
        # Someone on the same address with the real key is not locked out by the guesses.
        holder = client.post(
            "/rag", json={"question": "q"}, headers={"X-API-Key": KEY, **forged("198.51.100.7")}
        )

    assert guesses == [401, 401, 429]
    assert holder.status_code == 200


def test_a_trusted_proxy_s_forwarded_address_is_the_client() -> None:
    limits = {"FMT_LIMITS__RATE_LIMIT_PER_MINUTE": "1", "FMT_LIMITS__BURST": "1"}
    environment = {"FMT_TRUSTED_PROXIES": "127.0.0.1", "FAKE_FAILURE_RATE": "0", **limits}
    with (
        serve(FAKE_APP, environment) as served,
        httpx.Client(base_url=served.url, timeout=10) as client,
    ):
        answers = [
            client.post("/rag", json={"question": "q"}, headers=forged(address)).status_code
            # The proxy appends the address it saw; the right-most untrusted one is the client.
            for address in ("203.0.113.1", "203.0.113.1", "10.9.9.9, 203.0.113.2")
        ]

    assert answers == [200, 429, 200]


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Polls `condition` until it holds; fails after `timeout_s` (a bound, not a measurement)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.1)


@contextmanager
def streams_that_never_read(served: ServedApp, count: int) -> Iterator[list[socket.socket]]:
    """`count` streaming requests from sockets with a tiny receive buffer, never read."""
    body = json.dumps({"question": "What pressure?", "stream": True}).encode()
    request = (
        f"POST /rag HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Accept: text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with ExitStack() as stack:
        sockets = []
        for _ in range(count):
            connection = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            connection.connect(("127.0.0.1", served.port))
            connection.sendall(request)
            sockets.append(connection)
        yield sockets


def refused_for_lack_of_slots(client: httpx.Client, backend: str) -> float:
    """How many calls to `backend` were refused because all its in-flight slots were taken."""
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "fmt_backend_errors_total" and labels == {
                "backend": backend,
                "kind": "in_flight_limit",
            }:
                return sample.value
    return 0.0


def test_clients_that_stop_reading_are_dropped_and_never_open_a_circuit() -> None:
    environment = {
        "FMT_LIMITS__SEND_TIMEOUT_S": "2",
        "FMT_LIMITS__MAX_IN_FLIGHT_PER_BACKEND": "4",
        "FMT_CIRCUIT__FAILURE_THRESHOLD": "1",
    }
    with (
        serve(LONG_ANSWER_APP, environment) as served,
        httpx.Client(base_url=served.url, timeout=10) as client,
        streams_that_never_read(served, count=8),
    ):
        # Twice the base generator's slots of streams, none of them read: four hold every slot
        # (their sends wait on full sockets), so the other four were refused ...
        wait_until(
            lambda: refused_for_lack_of_slots(client, "base") >= 4,
            timeout_s=30,
            what="four streams holding every slot of the base generator",
        )
        # ... and once the four are abandoned at their send deadline, an ordinary request is
        # answered again, while their sockets are still open and unread.
        wait_until(
            lambda: client.post("/rag", json={"question": "q"}).status_code == 200,
            timeout_s=30,
            what="an answer while clients hold streams they do not read",
        )
        ready = client.get("/ready")

    assert ready.status_code == 200
    assert set(ready.json()["circuits"].values()) == {"closed"}


def test_a_body_that_trickles_in_is_refused_with_408() -> None:
    with (
        serve(FAKE_APP, {"FMT_LIMITS__BODY_TIMEOUT_S": "0.5"}) as served,
        socket.create_connection(("127.0.0.1", served.port), timeout=10) as connection,
    ):
        connection.sendall(
            b"POST /rag HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        # The rest never comes; the answer does, then the server closes the connection.
        reply = b""
        while piece := connection.recv(4096):
            reply += piece

    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert json.loads(body)["error"]["code"] == "request_timeout"
