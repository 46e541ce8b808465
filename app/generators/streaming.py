"""Streams of AWS backends as AWS defines them: retried until the first text, errors kept whole.

A stream that fails before it said anything can be opened again: nobody saw a word of it. Bedrock
and SageMaker report throttling and a busy model as events inside an HTTP 200 stream, so retrying
only the call that opens the stream would miss them. Once text went out, an error ends the answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing
from typing import Any, TypeVar, cast

from botocore.exceptions import EventStreamError

from app.core.errors import BackendThrottled, BackendUnavailable
from app.resilience.retry import RetryPolicy, call_with_retries, within_deadline

logger = logging.getLogger(__name__)

T = TypeVar("T")


async def retry_until_first_text(
    open_events: Callable[[], Awaitable[AsyncIterator[T]]],
    carries_text: Callable[[T], bool],
    policy: RetryPolicy,
    backend: str,
    deadline: float,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncGenerator[T, None]:
    """The events of a stream opened by `open_events`, each before the loop-time `deadline`.

    A throttling or unavailable error (as an event, or raised opening the stream) before any
    event `carries_text` reopens the stream, within the policy's attempts and the deadline.
    """
    loop = asyncio.get_running_loop()
    attempt = 0
    while True:
        events = await call_with_retries(open_events, policy, backend, deadline=deadline)
        guarded = within_deadline(events, deadline, backend, policy.deadline_s)
        spoke = False
        try:
            async with aclosing(guarded):
                async for event in guarded:
                    spoke = spoke or carries_text(event)
                    yield event
            return
        except (BackendThrottled, BackendUnavailable) as error:
            attempt += 1
            delay = policy.backoff_s(attempt - 1)
            if spoke or attempt >= policy.max_attempts or loop.time() + delay >= deadline:
                raise
            logger.warning(
                "reopening %s stream after %s before any text",
                backend,
                error.code,
                extra={"attempt": attempt, "delay_s": round(delay, 3), "error": error.message},
            )
            await sleep(delay)


def events_with_error_fields(event_stream: Any) -> Iterator[Any]:
    """The parsed events of a botocore EventStream; an exception event raises EventStreamError
    with every field of its body in `response["Error"]`.

    botocore keeps only the exception's type and message; SageMaker's ModelStreamError says what
    happened in a third field, `ErrorCode` (ModelInvocationTimeExceeded or StreamBroken).
    """
    raw_messages = getattr(event_stream, "_event_generator", None)
    parse = getattr(event_stream, "_parse_event", None)
    if raw_messages is None or parse is None:  # another botocore: its own iteration, less detail
        yield from event_stream
        return
    for message in raw_messages:
        try:
            parsed = parse(message)
        except EventStreamError as error:
            response = cast(dict[str, Any], error.response)  # botocore types Error's two keys
            response.setdefault("Error", {}).update(_body_fields(message.payload))
            raise
        if parsed:
            yield parsed


def _body_fields(payload: bytes) -> dict[str, str]:
    try:
        body = json.loads(payload)
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    return {
        key: value
        for key, value in body.items()
        if isinstance(value, str) and key.lower() != "message"
    }
