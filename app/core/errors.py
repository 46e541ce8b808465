"""Every error the service answers with, defined once; turned into HTTP in one place
(`app/http/error_body.py`, used by the exception handlers, the middleware and `/compare`).

Each answer is `{"error": {"code", "message", "request_id"}}` with the status below:

ServiceError ........................ 500 internal_error
├── BadRequest ...................... 400 bad_request
├── Unauthorized .................... 401 unauthorized
├── Forbidden ....................... 403 forbidden
├── NotFound ........................ 404 not_found
│   ├── PricesUnavailable ........... 404 no_price_table
│   └── ModelNotFound ............... 404 model_not_found  (/v1: no strategy of that name)
├── MethodNotAllowed ................ 405 method_not_allowed
├── RequestTimeout .................. 408 request_timeout   (the body came too slowly)
├── PayloadTooLarge ................. 413 payload_too_large
├── UnsupportedMediaType ............ 415 unsupported_media_type
├── InvalidRequest .................. 422 invalid_request
│   ├── ParameterOutOfRange ......... 422 parameter_out_of_range
│   ├── QuestionTooLong ............. 422 question_too_long
│   └── InputRejected ............... 422 input_rejected    (the backend refused this input)
├── RateLimited ..................... 429 rate_limited      (Retry-After)
├── ClientDisconnected .............. 499 client_closed_request (logged; nobody reads it)
├── NotReady ........................ 503 not_ready         (Retry-After)
├── ModelBusy ....................... 503 overloaded        (Retry-After)
├── AdapterTraining ................. 503 adapter_training  (Retry-After: the training's ETA)
├── AdapterUnavailable .............. 503 adapter_unavailable (no adapter, and none training)
└── BackendError .................... 502 backend_error
    ├── BackendRejected ............. 502 backend_error       (ours to fix; not a backend fault)
    ├── EmptyAnswer ................. 502 empty_answer        (the model said nothing; not a fault)
    ├── BackendUnavailable .......... 503 backend_unavailable (Retry-After when known)
    ├── BackendThrottled ............ 503 backend_throttled   (Retry-After)
    └── BackendTimeout .............. 504 backend_timeout

Backends raise `BackendError` and its subclasses (and `InputRejected`) only; everything else here
is raised by the service itself (or mapped from Starlette's HTTP errors by status). `EmptyAnswer`
is the strategy runner's: it checks every answer, whichever backend gave it.

A message is what a client reads: our own words and actionable hints, never a backend's text.
What the backend said (its error message, a reply body, an ARN) goes in `detail`, which only the
log sees, next to the request id. Only the `BackendError`s whose `counts_against_backend` is true
(timeouts, 5xx, unreachable, throttled, unusable replies) count towards a circuit.
"""

from __future__ import annotations

# How much of a backend's own text (a reply body, an error line) `detail` keeps for the log.
UPSTREAM_DETAIL_CHARS = 300
INTERNAL_ERROR_MESSAGE = "internal error; see the service log"
STARTUP_FAILED_MESSAGE = (
    "the backends failed to load; the service log (or GET /ready with an API key) says why"
)


class ServiceError(Exception):
    """Base of every error the service turns into a JSON error response."""

    status_code = 500
    code = "internal_error"

    def __init__(
        self, message: str, *, retry_after_s: float | None = None, detail: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s
        # What a backend said, for the log only: it may hold account ids, ARNs or prompt text.
        self.detail = detail

    def log_text(self) -> str:
        """The message with the backend's own words, for the log (never for a client)."""
        return f"{self.message}: {self.detail}" if self.detail else self.message

    def __str__(self) -> str:
        # Tracebacks and `%s` in log lines show everything; a client only ever gets `message`.
        return self.log_text()


class BadRequest(ServiceError):
    """The body is not valid JSON text (e.g. not UTF-8)."""

    status_code = 400
    code = "bad_request"


class Unauthorized(ServiceError):
    """No API key, or one that is not valid."""

    status_code = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status_code = 403
    code = "forbidden"


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"


class PricesUnavailable(NotFound):
    """The price table is missing or unreadable; the playground then shows no cost estimate."""

    code = "no_price_table"


class ModelNotFound(NotFound):
    """/v1/chat/completions named a model that is no strategy of the table."""

    code = "model_not_found"


class MethodNotAllowed(ServiceError):
    status_code = 405
    code = "method_not_allowed"


class RequestTimeout(ServiceError):
    """The client did not send its whole request body within FMT_LIMITS__BODY_TIMEOUT_S."""

    status_code = 408
    code = "request_timeout"


class PayloadTooLarge(ServiceError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(ServiceError):
    status_code = 415
    code = "unsupported_media_type"


class InvalidRequest(ServiceError):
    """The body does not follow the request schema."""

    status_code = 422
    code = "invalid_request"


class ParameterOutOfRange(InvalidRequest):
    """A generation parameter is outside what the serving backend accepts (checked before any
    backend call)."""

    code = "parameter_out_of_range"


class QuestionTooLong(InvalidRequest):
    """The question alone does not fit the generator's context with the answer asked for; a
    client's error, so it never counts against a backend's circuit."""

    code = "question_too_long"


class ClientDisconnected(ServiceError):
    """The client went away before its answer was ready; nobody reads this response (nginx's 499,
    for the access log only)."""

    status_code = 499
    code = "client_closed_request"


class InputRejected(InvalidRequest):
    """The backend refused this request's input as the client's to fix (too long for the model,
    blocked by a content filter); a client's error, so it never counts against a circuit."""

    code = "input_rejected"


class RateLimited(ServiceError):
    """This client or the whole service is over its limit."""

    status_code = 429
    code = "rate_limited"


class NotReady(ServiceError):
    """The backends are still loading, or failed to load."""

    status_code = 503
    code = "not_ready"


class ModelBusy(ServiceError):
    """Overload: an in-process model's queue is too long, or a backend has all its in-flight
    slots taken; shed with Retry-After and never counted against the backend's circuit (it is
    healthy, just busy)."""

    status_code = 503
    code = "overloaded"


class AdapterTraining(ServiceError):
    """The tuned model's LoRA adapter is still being trained: the tuned strategies answer once it
    lands (no restart), and never with another model meanwhile. Retry-After is the training's
    estimated time left."""

    status_code = 503
    code = "adapter_training"


class AdapterUnavailable(ServiceError):
    """The tuned model has no adapter and none is being trained (the training failed, or never
    ran): `make finetune` trains one, and the service picks it up without a restart."""

    status_code = 503
    code = "adapter_unavailable"


class BackendError(ServiceError):
    """A backend answered with something we cannot use."""

    status_code = 502
    code = "backend_error"
    counts_against_backend = True
    """Whether it says the backend is unhealthy (and counts towards opening its circuit)."""


class BackendRejected(BackendError):
    """The backend is up and refused the call for a reason on our side (permissions, model id,
    credentials, payload format): a 502 with a hint, not counted against its circuit."""

    counts_against_backend = False


class EmptyAnswer(BackendError):
    """The model ended its answer before saying anything. The backend is healthy (it answered)
    and another try with the same prompt would most likely end the same way: not counted against
    its circuit, not retried."""

    code = "empty_answer"
    counts_against_backend = False


class BackendUnavailable(BackendError):
    """A backend cannot be reached or keeps failing (retries exhausted, circuit open)."""

    status_code = 503
    code = "backend_unavailable"


class BackendThrottled(BackendError):
    """A backend refused the call for rate reasons and retries did not get through."""

    status_code = 503
    code = "backend_throttled"


class BackendTimeout(BackendError):
    """A backend did not answer within its deadline."""

    status_code = 504
    code = "backend_timeout"


_BY_STATUS: dict[int, type[ServiceError]] = {
    cls.status_code: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        RequestTimeout,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidRequest,
        RateLimited,
    )
}


def error_for_status(status_code: int, message: str) -> ServiceError:
    """The error of this vocabulary for an HTTP status raised by the framework (404, 405...)."""
    kind = _BY_STATUS.get(status_code)
    if kind is not None:
        return kind(message)
    error = ServiceError(message)
    error.status_code = status_code
    error.code = "http_error"
    return error
