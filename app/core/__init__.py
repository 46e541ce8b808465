"""The leaf of the service: errors, shared types, token counting, AWS clients, failures, logs."""
