"""SMS bookkeeping: which conversation a number's texts continue, and every text sent with its status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from helpline.store.models import Conversation, SmsDelivery, SmsThread, utcnow
from helpline.store.repositories import _Repository

# Provider statuses after which nothing more will happen to a message.
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed", "blocked", "rejected"})


class SmsThreadRepository(_Repository):
    def open_conversation(self, phone: str) -> str | None:
        """The number's conversation if it is still open."""
        thread = self.session.get(SmsThread, phone)
        if thread is None:
            return None
        conversation = self.session.get(Conversation, thread.conversation_id)
        return thread.conversation_id if conversation is not None and conversation.status == "active" else None

    def attach(self, phone: str, conversation_id: str, now: datetime | None = None) -> str:
        """Make `conversation_id` the number's conversation, unless another process attached an open one first:
        returns the conversation the number's texts go to."""
        at = now or utcnow()
        thread = self.session.get(SmsThread, phone)
        if thread is None:
            try:
                with self.session.begin_nested():
                    self.session.add(SmsThread(phone=phone, conversation_id=conversation_id, updated_at=at))
                return conversation_id
            except IntegrityError:
                thread = self.session.get(SmsThread, phone)
                if thread is None:
                    raise
        existing = self.session.get(Conversation, thread.conversation_id)
        if existing is not None and existing.status == "active" and thread.conversation_id != conversation_id:
            return thread.conversation_id
        thread.conversation_id, thread.updated_at = conversation_id, at
        return conversation_id


class SmsDeliveryRepository(_Repository):
    def record(self, *, to: str, purpose: str, status: str, provider_id: str | None = None,
               conversation_id: str | None = None, ticket_number: int | None = None, error: str = "",
               error_code: str | None = None, segments: int = 1, encoding: str = "GSM-7",
               now: datetime | None = None) -> SmsDelivery:
        at = now or utcnow()
        if conversation_id is not None and self.session.get(Conversation, conversation_id) is None:
            conversation_id = None  # erased meanwhile: keep the delivery, not the link
        row = SmsDelivery(provider_id=provider_id, to=to[:32], purpose=purpose[:40], status=status[:20],
                          conversation_id=conversation_id, ticket_number=ticket_number, error=error,
                          error_code=error_code, segments=segments, encoding=encoding, created_at=at, updated_at=at)
        self.session.add(row)
        return row

    def by_provider_id(self, provider_id: str) -> SmsDelivery | None:
        return self.session.scalar(select(SmsDelivery).where(SmsDelivery.provider_id == provider_id))

    def update_status(self, provider_id: str, status: str, error_code: str | None = None, error: str = "",
                      now: datetime | None = None) -> SmsDelivery | None:
        """A status callback. Callbacks can arrive out of order: a final status is never overwritten by an
        earlier one ("sent" after "delivered")."""
        row = self.by_provider_id(provider_id)
        if row is None:
            return None
        if row.status in FINAL_STATUSES and status not in FINAL_STATUSES:
            return row
        row.status, row.updated_at = status[:20], now or utcnow()
        if error_code:
            row.error_code = error_code[:16]
        if error:
            row.error = error
        return row

    def for_conversation(self, conversation_id: str) -> list[SmsDelivery]:
        return list(self.session.scalars(select(SmsDelivery).where(SmsDelivery.conversation_id == conversation_id)
                                         .order_by(SmsDelivery.id)))
