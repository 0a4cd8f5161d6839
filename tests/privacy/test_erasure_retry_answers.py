"""Erasure reaches the answers kept for API retries (Idempotency-Key): one naming the customer, or one of their
conversations, is replaced; the rows scan of every table then finds no trace of them; others' answers stay."""

from __future__ import annotations

from helpline.privacy.erasure import CustomerErasure
from helpline.store.db import Database
from helpline.store.idempotency import IdempotencyKeys, Replay, StoredAnswer
from tests.privacy.seed import AISHA_TRACES, rows_with, seed

JSON = [("content-type", "application/json")]


def test_erasure_replaces_the_kept_answers_that_name_the_customer(db: Database) -> None:
    seeded = seed(db)
    keys = IdempotencyKeys(db)
    kept = {
        "by-name": StoredAnswer(200, JSON, '{"replies": ["Thanks Aisha Patel, order BB-10160 is cancelled"]}'),
        "by-conversation": StoredAnswer(200, JSON, f'{{"id": "{seeded.chat_id}", "replies": ["Done."]}}'),
        "someone-else": StoredAnswer(201, JSON, '{"id": "x", "replies": ["Hello Lucas"]}'),
    }
    for key, answer in kept.items():
        keys.claim("api-key-1", key, "fp")
        keys.finish("api-key-1", key, "fp", answer)
    CustomerErasure(db).erase("C-1038", actor="apikey:hl_admin")
    assert rows_with(db, AISHA_TRACES) == []
    for key in ("by-name", "by-conversation"):
        replayed = keys.claim("api-key-1", key, "fp")
        assert isinstance(replayed, Replay) and replayed.answer.status == 410, key
    assert keys.claim("api-key-1", "someone-else", "fp") == Replay(kept["someone-else"])
