"""Opt-outs per channel and address on SQLite and PostgreSQL: SMS STOP blocks everything, an email unsubscribe
blocks notices only; one row per address, every change audited."""

from __future__ import annotations

from sqlalchemy import func, select

from helpline.outbound.ports import MessagePurpose, OutboundChannel
from helpline.store.db import Database
from helpline.store.models import AuditEntry, ContactOptOut
from helpline.store.opt_outs import OptOutRepository, StoredContactPreferences
from helpline.store.sms import SmsDeliveryRepository


def test_sms_stop_blocks_everything_and_start_restores(db: Database) -> None:
    prefs = StoredContactPreferences(db)
    assert prefs.allows(OutboundChannel.SMS, "+15125550147", MessagePurpose.OUTAGE_NOTICE)
    prefs.opt_out(OutboundChannel.SMS, "+1 512-555-0147", "STOP", "customer:sms")  # normalised to E.164
    for purpose in MessagePurpose:
        assert not prefs.allows(OutboundChannel.SMS, "+15125550147", purpose)
    assert prefs.allows(OutboundChannel.SMS, "+15125550148", MessagePurpose.SURVEY)  # only that number
    assert prefs.allows(OutboundChannel.EMAIL, "+15125550147", MessagePurpose.SURVEY)  # only that channel
    prefs.opt_in(OutboundChannel.SMS, "+15125550147", "START", "customer:sms")
    assert prefs.allows(OutboundChannel.SMS, "+15125550147", MessagePurpose.OUTAGE_NOTICE)
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(ContactOptOut)) == 1
        row = OptOutRepository(session).get(OutboundChannel.SMS, "+15125550147")
        assert row is not None and (row.status, row.keyword) == ("opted_in", "START")
        audited = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.entity == "contact_opt_out"))
        assert audited == 2


def test_an_email_unsubscribe_blocks_notices_not_replies(db: Database) -> None:
    prefs = StoredContactPreferences(db)
    prefs.opt_out(OutboundChannel.EMAIL, "Ana@Example.com", "unsubscribe link", "customer:email")
    assert not prefs.allows(OutboundChannel.EMAIL, "ana@example.com", MessagePurpose.SURVEY)
    assert not prefs.allows(OutboundChannel.EMAIL, "ana@example.com", MessagePurpose.OUTAGE_NOTICE)
    assert prefs.allows(OutboundChannel.EMAIL, "ana@example.com", MessagePurpose.REPLY)
    assert prefs.allows(OutboundChannel.EMAIL, "ana@example.com", MessagePurpose.VERIFICATION_CODE)


def test_a_final_delivery_status_is_not_undone_by_a_late_callback(db: Database) -> None:
    with db.session() as session:
        SmsDeliveryRepository(session).record(to="+15125550147", purpose="reply", status="accepted",
                                              provider_id="SM1")
    with db.session() as session:
        repo = SmsDeliveryRepository(session)
        repo.update_status("SM1", "delivered")
        repo.update_status("SM1", "sent")  # arrived late
        assert repo.update_status("SM-unknown", "sent") is None
    with db.read_session() as session:
        row = SmsDeliveryRepository(session).by_provider_id("SM1")
        assert row is not None and row.status == "delivered"
