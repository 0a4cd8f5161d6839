"""One-time codes by SMS through the outbox: delivered to a phone, declined for an email, blocked after STOP."""

from __future__ import annotations

from pathlib import Path

from helpline.application.opt_outs import OptOuts
from helpline.application.sms_deliveries import SmsDeliveries
from helpline.channels.sms.codes import CodeSenders, SmsCodeSender
from helpline.channels.sms.outbox import SmsOutbox
from helpline.channels.sms.twilio import TwilioAccount, TwilioSender
from helpline.outbound.ports import OutboundChannel
from helpline.store.db import Database
from tests.sms_double import TwilioDouble


class Refuses:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def send(self, contact: str, code: str) -> bool:
        self.asked.append(contact)
        return "@" in contact


def test_codes_go_by_sms_to_phones_only_and_never_after_stop(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'h.db'}")
    db.migrate()
    with TwilioDouble() as double:
        account = TwilioAccount(double.url, double.account_sid, double.auth_token, "+15125550100")
        preferences = OptOuts(db)
        sms = SmsCodeSender(SmsOutbox(TwilioSender(account), preferences, SmsDeliveries(db)), "Brightbean")
        email = Refuses()
        codes = CodeSenders((email, sms))
        assert codes.send("(512) 555-0147".replace("(512) ", "+1512"), "123456")
        [sent] = double.sent
        assert sent.to == "+15125550147" and "123456" in sent.body and sent.body.startswith("Brightbean")
        assert codes.send("ana@example.com", "654321") and len(double.sent) == 1  # the email sender's
        preferences.opt_out(OutboundChannel.SMS, "+15125550147", "STOP", "test")
        assert not codes.send("+15125550147", "111111") and len(double.sent) == 1
    db.dispose()
