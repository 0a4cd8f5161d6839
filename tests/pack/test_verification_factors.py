"""The pack format of typed verification factors and authorised users (issue 15 item 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helpline.pack.loader import PackInvalid, load_pack
from helpline.pack.models import Verification

FIBRE = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "fibre"
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"


def test_the_fibre_pack_declares_typed_factors_and_authorised_users() -> None:
    verification = load_pack(FIBRE).business.verification
    assert verification.factors["phone_last4"].type == "phone_last4"
    assert verification.factors["phone_last4"].field == "phone"
    assert verification.factors["account_number"].field is None  # sent to the lookup
    assert verification.authorised_users is not None
    assert verification.authorised_users.operation == "list_authorised_users"


def test_packs_without_factors_load_unchanged() -> None:
    verification = load_pack(DEMO).business.verification
    assert verification.factors == {} and verification.authorised_users is None
    assert [m.fields for m in verification.methods] == [["email"], ["person_name", "postcode"]]


@pytest.mark.parametrize(("config", "message"), [
    ({"methods": [{"fields": ["phone_last4"]}], "lookup_operation": "find",
      "factors": {"phone_last4": {"type": "phone_last4", "field": "phone"}}}, "nothing is passed to the lookup"),
    ({"methods": [{"fields": ["code"]}], "lookup_operation": "find",
      "factors": {"code": {"type": "one_time_code"}}}, "one_time_code"),
    ({"methods": [{"fields": ["pin"]}], "lookup_operation": "find", "factors": {"pin": {"type": "password"}}},
     "phone_last4"),
    ({"methods": [{"fields": ["email"]}], "lookup_operation": "find",
      "authorised_users": {"field": "people", "operation": "list_people"}}, "exactly one of"),
    ({"methods": [{"fields": ["email"]}], "lookup_operation": "find",
      "authorised_users": {"field": "people", "factors": {"dob": {"type": "date_of_birth"}}}}, "needs the `field`"),
])
def test_mistakes_in_factors_are_refused(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Verification.model_validate(config)


def _copy_with(tmp_path: Path, change: dict[str, object]) -> Path:
    root = tmp_path / "pack"
    for path in FIBRE.rglob("*"):
        if path.is_file():
            target = root / path.relative_to(FIBRE)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    business = yaml.safe_load((root / "business.yaml").read_text())
    business["verification"].update(change)
    (root / "business.yaml").write_text(yaml.safe_dump(business))
    return root


def test_the_validator_names_an_undeclared_factor_and_a_missing_operation(tmp_path: Path) -> None:
    root = _copy_with(tmp_path, {"methods": [{"fields": ["account_number", "card_ending"]}],
                                 "authorised_users": {"operation": "who_may_call"}})
    with pytest.raises(PackInvalid) as refused:
        load_pack(root)
    text = str(refused.value)
    assert "verification field 'card_ending'" in text and "'who_may_call' is not defined" in text
