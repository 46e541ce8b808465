"""Test support for AWS backends: fake credentials, real clients, and encoded event streams.

botocore's Stubber checks requests against the service models but cannot return event streams,
so streaming replies are served from a `before-send` hook as encoded event-stream bytes: the
request is still validated and serialized by botocore, and the reply goes through botocore's own
event-stream parser.
"""

from __future__ import annotations

import binascii
import json
import struct
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HTTPHeaders
from botocore.client import BaseClient
from botocore.exceptions import ReadTimeoutError

from app.core.aws_clients import client_config
from app.resilience.blocking import BlockingPool
from app.resilience.retry import RetryPolicy
from app.settings import BedrockSettings, SageMakerSettings

REGION = "us-east-1"
FAST_POLICY = RetryPolicy(max_attempts=3, base_delay_s=0.0, max_delay_s=0.0, deadline_s=5.0)


def use_fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and region from the environment only; nothing from the user's ~/.aws."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def real_client(service: str, settings: BedrockSettings | SageMakerSettings) -> Any:
    """A real boto3 client configured like the service's own (pools, timeouts, no retries)."""
    return boto3.session.Session(region_name=REGION).client(
        service,  # type: ignore[call-overload]
        config=client_config(settings),
    )


def encode_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One message of the AWS event-stream encoding (string headers only)."""
    encoded_headers = b""
    for name, value in headers.items():
        raw_value = value.encode()
        encoded_headers += bytes([len(name)]) + name.encode() + b"\x07"
        encoded_headers += struct.pack(">H", len(raw_value)) + raw_value
    total_length = 12 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack(">II", total_length, len(encoded_headers))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + encoded_headers + payload
    return message + struct.pack(">I", binascii.crc32(message) & 0xFFFFFFFF)


def event(event_type: str, body: Mapping[str, Any] | bytes) -> bytes:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    content_type = "application/octet-stream" if isinstance(body, bytes) else "application/json"
    headers = {
        ":message-type": "event",
        ":event-type": event_type,
        ":content-type": content_type,
    }
    return encode_message(headers, payload)


def exception_event(exception_type: str, message: str, **fields: str) -> bytes:
    """An exception event; SageMaker's carry `Message` and `ErrorCode`, Bedrock's `message`."""
    headers = {
        ":message-type": "exception",
        ":exception-type": exception_type,
        ":content-type": "application/json",
    }
    body = {"Message" if fields else "message": message, **fields}
    return encode_message(headers, json.dumps(body).encode())


def converse_stream_events(
    texts: Sequence[str], input_tokens: int = 11, output_tokens: int = 7
) -> list[bytes]:
    """A ConverseStream reply: message start, one delta per text, stop, usage metadata."""
    messages = [event("messageStart", {"role": "assistant"})]
    messages += [
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}})
        for text in texts
    ]
    messages += [
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("messageStop", {"stopReason": "end_turn"}),
        event(
            "metadata",
            {
                "usage": {
                    "inputTokens": input_tokens,
                    "outputTokens": output_tokens,
                    "totalTokens": input_tokens + output_tokens,
                },
                "metrics": {"latencyMs": 12},
            },
        ),
    ]
    return messages


def tgi_stream_lines(texts: Sequence[str], generated_tokens: int | None = None) -> bytes:
    """TGI-style SSE lines: one token each, the last with the full text and details."""
    lines = []
    for index, text in enumerate(texts):
        last = index == len(texts) - 1
        details = {"finish_reason": "eos_token", "generated_tokens": generated_tokens}
        line = {
            "token": {"id": index, "text": text, "logprob": -0.1, "special": False},
            "generated_text": "".join(texts) if last else None,
            "details": details if last and generated_tokens is not None else None,
        }
        lines.append(f"data:{json.dumps(line, ensure_ascii=False)}\n\n")
    return "".join(lines).encode()


def payload_parts(data: bytes, sizes: Sequence[int]) -> list[bytes]:
    """`data` cut at the given sizes (anywhere, mid-line) into PayloadPart events."""
    parts, start = [], 0
    for size in sizes:
        parts.append(data[start : start + size])
        start += size
    parts.append(data[start:])
    return [event("PayloadPart", part) for part in parts if part]


@dataclass
class RawEventStream:
    """Stands in for urllib3's response: `stream()` gives chunks, optionally slowly."""

    chunks: Sequence[bytes]
    delay_s: float = 0.0
    closed: bool = False

    def stream(self, amt: int | None = None) -> Iterator[bytes]:
        for chunk in self.chunks:
            if self.delay_s:
                time.sleep(self.delay_s)
            if self.closed:
                return
            yield chunk

    def close(self) -> None:
        self.closed = True


@dataclass
class SentRequests:
    """What the hooks answered, in order."""

    bodies: list[bytes] = field(default_factory=list)
    headers: list[Mapping[str, str]] = field(default_factory=list)
    streams: list[RawEventStream] = field(default_factory=list)

    def json(self, index: int = -1) -> Any:
        return json.loads(self.bodies[index])


def serve_event_stream(
    client: BaseClient, operation: str, messages: Sequence[bytes], delay_s: float = 0.0
) -> SentRequests:
    """Answer every `operation` call of `client` with these event-stream messages."""
    return serve_event_streams(client, operation, [messages], delay_s)


def serve_event_streams(
    client: BaseClient,
    operation: str,
    replies: Sequence[Sequence[bytes]],
    delay_s: float = 0.0,
) -> SentRequests:
    """Answer the n-th `operation` call with the n-th list of messages (the last one repeats)."""
    sent = SentRequests()
    service = client.meta.service_model.service_id.hyphenize()

    def respond(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        body = request.body
        messages = replies[min(len(sent.bodies), len(replies) - 1)]
        sent.bodies.append(body if isinstance(body, bytes) else str(body or "").encode())
        sent.headers.append(dict(request.headers))
        raw = RawEventStream(list(messages), delay_s)
        sent.streams.append(raw)
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/vnd.amazon.eventstream"
        return AWSResponse(request.url, 200, headers, raw)

    client.meta.events.register_first(f"before-send.{service}.{operation}", respond)  # type: ignore[arg-type]
    return sent


def hang_then_time_out(client: BaseClient, operation: str, hang_s: float) -> threading.Event:
    """Make `operation` block like a silent server, then fail with botocore's read timeout.

    Set the returned event to let blocked threads go at once.
    """
    release = threading.Event()
    service = client.meta.service_model.service_id.hyphenize()

    def hang(request: AWSPreparedRequest, **_: Any) -> None:
        release.wait(hang_s)
        raise ReadTimeoutError(endpoint_url=request.url)

    client.meta.events.register_first(f"before-send.{service}.{operation}", hang)
    return release


def small_pool() -> BlockingPool:
    return BlockingPool(8, name="test-aws")
