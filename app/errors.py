"""Domain errors by backends and the service; mapped to HTTP once, in app.http.error_handlers."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error the service turns into a JSON error response."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s


class BackendError(ServiceError):
    """A backend answered with something we cannot use."""

    status_code = 502
    code = "backend_error"


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


class NotReady(ServiceError):
    """The backends are still loading."""

    status_code = 503
    code = "not_ready"


class ParameterOutOfRange(ServiceError):
    """A request's generation parameter is outside what the serving backend accepts."""

    status_code = 422
    code = "parameter_out_of_range"


class Unauthorized(ServiceError):
    status_code = 401
    code = "unauthorized"


class RateLimited(ServiceError):
    """This client or the whole service is over its limit."""

    status_code = 429
    code = "rate_limited"


class QuestionTooLong(ServiceError):
    """The question alone does not fit the generator's context with the answer asked for; a
    client's error, so it never counts against a backend's circuit."""

    status_code = 422
    code = "question_too_long"


class ModelBusy(ServiceError):
    """An in-process model's queue is too long: overload, shed with Retry-After; never counted
    against the model's circuit (the model is healthy, just busy)."""

    status_code = 503
    code = "overloaded"
