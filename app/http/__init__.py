"""HTTP layer: routes, request/response schemas, SSE framing, error handlers, the playground."""
