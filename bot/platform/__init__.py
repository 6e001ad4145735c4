"""Leaf infrastructure: configuration, the clock, the Redis connection and embedded Redis.

Imports nothing from the rest of `bot`."""
