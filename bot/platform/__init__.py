"""Leaf infrastructure: configuration, the clock, the Redis connection (Sentinel too) and
embedded Redis, request bodies, log format and masking, metrics and outage logging.

Imports nothing from the rest of `bot`."""
