"""Idempotency keys as the API's ``Idempotency-Key`` guard keeps them (api/idempotency.py): claimed per API key,
answered, released; in the database (store/idempotency.py), so a retry that reaches another node is answered the
same. The guard works through these names and never reaches into the store."""

from __future__ import annotations

from helpline.store.idempotency import Claim, Claimed, IdempotencyKeys, Mismatch, Replay, Running, StoredAnswer

__all__ = ["Claim", "Claimed", "IdempotencyKeys", "Mismatch", "Replay", "Running", "StoredAnswer"]
