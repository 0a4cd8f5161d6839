from collections.abc import Mapping, Sequence
from typing import Any

from helpline.conversation.ports import Entity, IntentScore, OperationResult, Understanding
from helpline.conversation.verification import IdentityCheck, display_name, name_mismatch
from helpline.pack.models import Verification


class Reader:
    """Reads a ZIP from digits and a name from words, as the embedded slot reader does."""

    def read(self, text: str, slot_type: str, options: Sequence[str] = ()) -> str | None:
        if slot_type == "postcode" and text.isdigit() and len(text) == 5:
            return text
        if slot_type == "person_name" and text.replace(" ", "").isalpha():
            return text
        return None


class Records:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, name: str, args: Mapping[str, Any]) -> OperationResult:
        self.calls.append((name, dict(args)))
        if name == "by_name_zip":
            return OperationResult(ok=True, data="user_7") if args["postcode"] == "77008" else \
                OperationResult(ok=False, error="Error: user not found")
        return OperationResult(ok=True, data={"name": {"first_name": "Ryan", "last_name": "Rodriguez"}})


CONFIG = Verification.model_validate({
    "methods": [{"fields": ["email"], "operation": "by_email"},
                {"fields": ["person_name", "postcode"], "operation": "by_name_zip"}],
    "profile_operation": "profile",
})


def understanding(text: str, *entities: Entity) -> Understanding:
    return Understanding(text=text, intents=(IntentScore("out_of_scope", 0.2),), entities=entities)


def test_terse_answer_with_two_details_is_read_part_by_part() -> None:
    check = IdentityCheck(CONFIG, Records(), Reader())
    collected: dict[str, str] = {}
    check.gather(collected, understanding("Ryan Rodriguez, 77008"))
    assert collected == {"person_name": "Ryan Rodriguez", "postcode": "77008"}


def test_missing_detail_of_the_started_method() -> None:
    check = IdentityCheck(CONFIG, Records(), Reader())
    assert check.still_missing({"person_name": "Ryan Rodriguez"}) == ["postcode"]
    assert check.complete_method({"person_name": "Ryan Rodriguez"}) is None


def test_id_lookup_is_expanded_by_the_profile_operation() -> None:
    records = Records()
    check = IdentityCheck(CONFIG, records, Reader())
    method = check.complete_method({"person_name": "Ryan Rodriguez", "postcode": "77008"})
    assert method is not None
    found = check.look_up(method, {"person_name": "Ryan Rodriguez", "postcode": "77008"})
    assert found.customer == {"name": {"first_name": "Ryan", "last_name": "Rodriguez"}, "id": "user_7"}
    assert [c[0] for c in records.calls] == ["by_name_zip", "profile"] and len(found.calls) == 2
    missing = check.look_up(method, {"person_name": "Ryan Rodriguez", "postcode": "11111"})
    assert missing.customer is None and not missing.result.ok


def test_names_on_record_and_mismatch_flags() -> None:
    assert display_name({"name": {"first_name": "Ryan", "last_name": "Rodriguez"}}) == "Ryan Rodriguez"
    assert name_mismatch("ryan rodriguez", {"name": "Ryan Rodriguez"}) is None
    assert name_mismatch("Brian Rogers", {"name": "Ryan Rodriguez"}) is not None


def test_a_recognised_detail_and_a_terse_name_in_one_answer() -> None:
    check = IdentityCheck(CONFIG, Records(), Reader())
    collected: dict[str, str] = {}
    zip_code = Entity("postcode", "80218", "zip code 80218")
    check.gather(collected, understanding("Olivia Ito, zip code 80218", zip_code))
    assert collected == {"postcode": "80218", "person_name": "Olivia Ito"}
