from pathlib import Path

import pytest

from helpline.pack.loader import PackInvalid, load_pack

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"

BUSINESS = """\
name: Test Shop
timezone: Europe/London
opening_hours: {mon: "09:00-17:00"}
escalation:
  tiers: [{name: tier2}]
  default_tier: tier2
verification:
  lookup_operation: find_customer
  methods: [{fields: [email]}]
id_formats:
  order_id: "\\\\bO-\\\\d{3}\\\\b"
"""

OPERATIONS = """\
tables:
  customers: {file: data/customers.csv, key: id}
operations:
  find_customer:
    sql: "SELECT * FROM customers WHERE email = :email"
    params: {email: email}
  delete_customer:
    sql: "DELETE FROM customers WHERE id = :id"
    params: {id: text}
    changes_data: true
"""

PROCEDURE = """\
id: remove_me
title: Remove my account
triggers: [delete my account, remove my data]
slots:
  reason: {type: text, prompt: "Why?"}
steps:
  - ask: reason
  - call: delete_customer
    args: {id: "{{ customer.id }}"}
  - end: resolved
"""


def write_pack(root: Path, procedure: str = PROCEDURE, business: str = BUSINESS) -> Path:
    (root / "procedures").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "data" / "customers.csv").write_text("id,email\n1,a@example.com\n")
    (root / "business.yaml").write_text(business)
    (root / "operations.yaml").write_text(OPERATIONS)
    (root / "procedures" / "remove_me.yaml").write_text(procedure)
    return root


def test_demo_pack_is_valid() -> None:
    pack = load_pack(DEMO)
    assert len(pack.procedures) >= 10
    assert pack.business.name


def test_change_without_confirm_is_reported_with_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(PackInvalid) as caught:
        load_pack(write_pack(tmp_path))
    messages = [str(e) for e in caught.value.errors]
    assert any(m.startswith("procedures/remove_me.yaml:8:") and "confirm" in m for m in messages), messages


def test_every_error_is_reported_not_just_the_first(tmp_path: Path) -> None:
    broken = PROCEDURE.replace("- ask: reason", "- ask: reasn")
    business = BUSINESS.replace('mon: "09:00-17:00"', 'funday: "9-5"')
    root = write_pack(tmp_path, broken, business)
    (root / "procedures" / "untitled.yaml").write_text(PROCEDURE.replace("title: Remove my account\n", ""))
    with pytest.raises(PackInvalid) as caught:
        load_pack(root)
    text = str(caught.value)
    assert "business.yaml:3:" in text and "funday" in text
    assert "procedures/untitled.yaml:1:" in text and "title" in text
    assert "procedures/remove_me.yaml" in text and "reasn" in text


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(PackInvalid) as caught:
        load_pack(write_pack(tmp_path, PROCEDURE + "  - say: [unclosed\n"))
    assert any(e.file == "procedures/remove_me.yaml" and e.line >= 11 for e in caught.value.errors)


def test_unknown_jump_label_is_an_error(tmp_path: Path) -> None:
    bad = PROCEDURE.replace("  - end: resolved", "  - goto: nowhere")
    with pytest.raises(PackInvalid) as caught:
        load_pack(write_pack(tmp_path, bad))
    assert "nowhere" in str(caught.value)


def test_http_url_settings_come_from_the_environment_then_the_packs_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_pack(tmp_path / "pack", PROCEDURE.replace("  - call:", '  - confirm: "Sure?"\n  - call:'))
    http_ops = """
  status:
    http: {url: "${SHOP_URL}/status"}
  stock:
    http: {url: "${STOCK_URL:-http://stock.test}/stock"}
"""
    (root / "operations.yaml").write_text(OPERATIONS + http_ops)
    monkeypatch.delenv("SHOP_URL", raising=False)
    monkeypatch.delenv("STOCK_URL", raising=False)
    with pytest.raises(PackInvalid) as caught:
        load_pack(root)
    assert "operations.yaml:13: operation 'status': ${SHOP_URL} is not set" in str(caught.value)
    (root / ".env").write_text("# the shop's system\nSHOP_URL=http://shop.test\n")
    ops = load_pack(root).operations.operations
    assert [spec.url for n in ("status", "stock") if (spec := ops[n].http)] == [
        "http://shop.test/status", "http://stock.test/stock"]
    monkeypatch.setenv("SHOP_URL", "http://other.test")
    assert load_pack(root).operations.operations["status"].http.url == "http://other.test/status"  # type: ignore[union-attr]
