"""Pure-ASGI middleware of the service, one class per module."""
