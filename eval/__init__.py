"""The evaluation runner: quality, latency and cost of each strategy, measured over HTTP."""
