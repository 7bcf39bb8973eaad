"""Streamed replies: listings as incrementally written JSON or NDJSON, limits, abort-on-failure."""
