"""Typed verification factors and authorised users (issue 15 item 1), in chat conversations through the real
runtime: the fibre pack of tests/fixtures/packs/fibre (account number + the last 4 digits of the phone on file;
Tom Brennan, born 3 April 1988, is authorised on Margaret Brennan's account FB-100234)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from helpline.connectors.gateway import PackOperations
from helpline.connectors.sql import SqlOperations
from helpline.conversation.ports import ClientIdentity, ClientKind, OperationResult
from helpline.conversation.verification import (
    CALLER_NAME,
    CALLER_PREFIX,
    IdentityCheck,
    Served,
    factor_matches,
    seal,
)
from helpline.pack.loader import load_pack
from helpline.pack.models import Factor, Verification
from helpline.runtime import PackModels, Runtime, build_models, build_runtime
from helpline.store.models import AuditEntry, Callback
from helpline.store.throttle import ATTEMPT_ENTITY

FIBRE = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "fibre"
NOW = datetime.fromisoformat("2026-11-18T10:00:00+00:00")  # a Wednesday, open
BILL, BANK_ENDING, HOLDER, HOLDER_PHONE = "42.5", "7731", "Margaret", "+447911124421"


@pytest.fixture(scope="module")
def fibre_models(tmp_path_factory: pytest.TempPathFactory) -> PackModels:
    pack = load_pack(FIBRE)
    records = tmp_path_factory.mktemp("fibre") / "records.db"
    return build_models(pack, PackOperations(pack.operations, SqlOperations.open(f"sqlite:///{records}", pack.root,
                                                                                 pack.operations.tables)))


@pytest.fixture()
def runtime(fibre_models: PackModels, tmp_path: Path) -> Iterator[Runtime]:
    made = build_runtime(FIBRE, db_url=f"sqlite:///{tmp_path / 'helpline.db'}",
                         records_url=f"sqlite:///{tmp_path / 'records.db'}", models=fibre_models, clock=lambda: NOW)
    yield made
    made.db.dispose()


def chat(rt: Runtime, *lines: str, client: str = "203.0.113.5") -> list[list[str]]:
    service = rt.conversations
    started = service.start(clients=(ClientIdentity(ClientKind.IP, client),))
    return [service.post(started.id, line).replies for line in lines]


def said(replies: list[list[str]]) -> str:
    return "\n".join(line for turn in replies for line in turn)


def audit(rt: Runtime, entity: str) -> list[AuditEntry]:
    with rt.db.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.at)))


def test_the_holders_son_is_refused_the_bill_and_offered_a_call_back_to_her(runtime: Runtime) -> None:
    replies = chat(runtime, "Hi, this is her son, how much is my mum's bill?", "FB-100234 and it ends in 4421",
                   "Kevin Brennan", "12 May 1990", "yes please")
    everything = said(replies)
    # the finding: he knew the account number and the phone's last digits, and was read the bill and bank ending
    assert BILL not in everything and BANK_ENDING not in everything and HOLDER not in everything
    assert "authorised" in said(replies[3:4]) and "call" in said(replies[3:4])
    assert "call the account holder back" in said(replies[4:])
    with runtime.db.session() as session:
        callbacks = list(session.scalars(select(Callback)))
    assert [c.phone for c in callbacks] == [HOLDER_PHONE]  # the number on file, never one he gave
    served = [e.detail for e in audit(runtime, "verification:caller")]
    assert served == [{"served": "refused", "name": "Kevin Brennan", "relationship": "this is her son"}]


def test_an_authorised_user_gets_the_bill_after_settling_an_ambiguous_date(runtime: Runtime) -> None:
    replies = chat(runtime, "I'm calling for my mum, how much is the bill on the account?",
                   "Her account number is FB-100234, phone ends in 4421", "Tom Brennan", "03/04/1988", "April")
    assert BILL not in said(replies[:4])
    assert "3 April 1988 or 4 March 1988" in said(replies[3:4])  # GB writes the day first: that reading first
    assert BILL in said(replies[4:]) and "Tom Brennan" in said(replies[4:])
    served = [e.detail for e in audit(runtime, "verification:caller")]
    assert served == [{"served": "authorised_user", "name": "Tom Brennan", "relationship": "son"}]


def test_a_third_party_who_gives_the_holders_name_as_his_own_is_asked_for_his(runtime: Runtime) -> None:
    replies = chat(runtime, "hello, I want to check my bill. I'm calling on behalf of my mother", "FB-100234 4421",
                   "I'm Margaret Brennan", "3 April 1988", "I'm Tom Brennan")
    assert BILL not in said(replies[:4]) and "own full name" in said(replies[3:4])
    assert BILL in said(replies[4:])


def test_an_authorised_users_wrong_date_of_birth_is_refused(runtime: Runtime) -> None:
    replies = chat(runtime, "this is her son, I need to know the bill", "FB-100234, ends in 4421",
                   "Tom Brennan, born 4 May 1988")
    assert BILL not in said(replies) and "authorised" in said(replies[2:])
    assert [e.detail["served"] for e in audit(runtime, "verification:caller")] == ["refused"]
    assert [e.detail["outcome"] for e in audit(runtime, ATTEMPT_ENTITY)] == ["failed"]  # a guess counts


def test_the_holder_is_served_and_audited_as_the_holder(runtime: Runtime) -> None:
    replies = chat(runtime, "hello, I'm Margaret Brennan. How much is my bill? account FB-100234, "
                            "my phone ends in 4421")
    assert BILL in said(replies)
    assert [e.detail["served"] for e in audit(runtime, "verification:caller")] == ["holder"]


def test_a_year_is_not_the_last_four_digits_but_ends_in_is(runtime: Runtime) -> None:
    replies = chat(runtime, "how much is my bill", "FB-100234, I've been a customer since 2019", "ends in 4421")
    assert "last 4 digits" in said(replies[1:2]) and BILL not in said(replies[:2])
    assert len(audit(runtime, "operation:find_account")) == 1  # "since 2019" made no lookup
    assert BILL in said(replies[2:])


def test_spelled_out_last_four_digits_verify(runtime: Runtime) -> None:
    replies = chat(runtime, "how much is my bill", "FB-100234", "four four two one")
    assert BILL in said(replies[2:])


def test_a_wrong_last_four_is_a_failed_attempt_and_the_limits_apply(runtime: Runtime) -> None:
    replies = chat(runtime, "how much is my bill", "FB-100234", "4420", "FB-100234 4429", "FB-100234, 4428")
    assert BILL not in said(replies) and "can't verify" in said(replies[4:])
    assert [e.detail["outcome"] for e in audit(runtime, ATTEMPT_ENTITY)] == ["failed"] * 3
    # across conversations the account's record limit (5 failures) holds, from another address too
    chat(runtime, "how much is my bill", "FB-100234 4427", "FB-100234 4426", client="198.51.100.7")
    late = chat(runtime, "how much is my bill", "FB-100234, it ends in 4421", client="192.0.2.44")
    assert BILL not in said(late) and "paused" in said(late)


# --- comparing factors with the record, and authorised users listed in the record itself ---------------------


@pytest.mark.parametrize(("kind", "given", "on_record", "expected"), [
    ("phone_last4", "4421", "+44 7911 124421", True),
    ("phone_last4", "4421", "+44 7911 124420", False),
    ("phone_last4", "1244", "+44 7911 124421", False),  # the LAST four, not any four
    ("card_last4", "4242", "4242 4242 4242 4242", True),
    ("date_of_birth", "1988-04-03", "1988-04-03", True),
    ("date_of_birth", "1988-03-04", "1988-04-03", False),
    ("pin", "4821", "4821", True),
    ("pin", "4821", "4822", False),
    ("postcode", "78681", "78681-1234", True),
    ("name", "margaret  brennan", "Margaret Brennan", True),
    ("email", " M.Brennan@Example.com", "m.brennan@example.com", True),
    ("account_number", "fb100234", "FB-100234", True),
    ("phone_last4", "4421", None, False),
])
def test_each_factor_type_compares_as_it_should(kind: str, given: str, on_record: Any, expected: bool) -> None:
    assert factor_matches(Factor.model_validate({"type": kind, "field": "x"}), given, on_record) is expected


def test_a_pin_waits_between_turns_only_sealed() -> None:
    sealed = seal("4821")
    assert "4821" not in sealed
    pin = Factor(type="pin", field="pin")
    assert factor_matches(pin, sealed, "4821") and not factor_matches(pin, sealed, "4820")


class Accounts:
    """The business's system: one account whose record lists who else may call about it."""

    def call(self, name: str, args: Mapping[str, Any]) -> OperationResult:
        if args.get("account_number") == "FB-100234":
            return OperationResult(ok=True, data={"id": "FB-100234", "name": "Margaret Brennan",
                                                  "phone": "+44 7911 124421", "pin": "4821",
                                                  "people": [{"name": "Tom Brennan", "relationship": "son",
                                                              "pin": "1357"}]})
        return OperationResult(ok=False, error="not found")


class NoReader:
    def read(self, text: str, slot_type: str, options: Any = ()) -> str | None:
        return None


CONFIG = Verification.model_validate({
    "lookup_operation": "find_account",
    "factors": {"account_number": {"type": "account_number"}, "pin": {"type": "pin", "field": "pin"}},
    "methods": [{"fields": ["account_number", "pin"], "level": 2}],
    "authorised_users": {"field": "people", "factors": {"pin": {"type": "pin", "field": "pin"}}},
})


def test_a_pin_method_and_authorised_users_listed_in_the_record() -> None:
    check = IdentityCheck(CONFIG, Accounts(), NoReader())
    method = CONFIG.methods[0]
    found = check.look_up(method, {"account_number": "FB-100234", "pin": seal("4821")})
    assert found.customer is not None and found.calls[0].args == {"account_number": "FB-100234"}  # PIN not sent
    assert check.look_up(method, {"account_number": "FB-100234", "pin": seal("1111")}).customer is None
    record = found.customer
    tom = {CALLER_NAME: "tom brennan", CALLER_PREFIX + "pin": seal("1357")}
    assert check.check_caller(record, tom, "her son").served is Served.AUTHORISED_USER
    wrong_pin = {CALLER_NAME: "Tom Brennan", CALLER_PREFIX + "pin": seal("1358")}
    assert check.check_caller(record, wrong_pin, "her son").served is Served.REFUSED
    assert check.check_caller(record, {CALLER_NAME: "Kevin Brennan"}, "her son").served is Served.REFUSED
    # naming the holder as himself is not being the holder: his own name is asked for
    assert check.check_caller(record, {CALLER_NAME: "Margaret Brennan"}, "her son").served is None
