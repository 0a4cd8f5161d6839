"""Driven adapters shared by several parts that are neither a channel nor the store: Redis for nodes that
share state (``redis_shared.py``: the event bus behind ``application.bus.EventBus``, widget de-duplication)."""
