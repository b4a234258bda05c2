"""Worked example of a third-party FastEmbody algorithm plugin: A2C (synchronous advantage actor-critic)."""
