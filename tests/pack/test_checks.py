"""The validator reports every class of mistake in a pack, each with its file and line, all at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpline.pack.loader import PackInvalid, load_pack

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"


def copy_demo(tmp_path: Path) -> Path:
    pack = tmp_path / "pack"
    shutil.copytree(DEMO, pack, ignore=shutil.ignore_patterns("tests", "tools"))
    return pack


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def errors_of(pack: Path) -> list[str]:
    with pytest.raises(PackInvalid) as caught:
        load_pack(pack)
    return [str(error) for error in caught.value.errors]


def line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


def test_a_valid_pack_reports_nothing() -> None:
    for pack in (DEMO, ROOT / "examples" / "tau-retail"):
        assert load_pack(pack).procedures


def test_an_incomplete_expression_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    pack = copy_demo(tmp_path)
    procedure = pack / "procedures" / "cancel_order.yaml"
    edit(procedure, "{when: \"order.status == 'pending'\"", "{when: \"order.status ==\"")
    line = line_of(procedure, 'when: "order.status =="')
    assert errors_of(pack) == [f"procedures/cancel_order.yaml:{line}: when: expression is incomplete"]


@pytest.mark.parametrize(("old", "new", "marker", "message"), [
    ("{{ order.placed_at | date }}", "{{ order.placed_at | upcase }}", "upcase",
     "confirm: unknown filter 'upcase' (did you mean 'upper'?)"),
    ("{{ slots.reason }}\"\n", "{{ slots.reasn }}\"\n", "slots.reasn",
     "resolution: unknown slot 'reasn' (did you mean 'reason'?)"),
    ("args: {order_id: \"{{ order.id }}\", customer_id", "args: {order_id: \"{{ ordr.id }}\", customer_id",
     "ordr.id", "args.order_id: unknown name 'ordr' (did you mean 'order'?)"),
    ("{{ order.total | money }}. Shall", "{{ order.totl | money }}. Shall", "order.totl",
     "confirm: 'order' has no field 'totl' (did you mean 'total'?)"),
    ("    on_failure: cancel_failed", "    on_failure: cancel_faild", "cancel_faild",
     "on_failure: no step is labelled 'cancel_faild' (did you mean 'cancel_failed'?)"),
    ("  - label: cancellable\n    ask: reason", "  - label: cancellable\n    ask: reasn", "ask: reasn",
     "ask: 'reasn' is not one of the procedure's slots (did you mean 'reason'?)"),
    ("    tier: tier2", "    tier: tier3", "tier: tier3",
     "tier: unknown escalation tier 'tier3' (did you mean 'tier2'?)"),
    ("  - call: cancel_order", "  - call: cancel_ordr", "call: cancel_ordr",
     "call: unknown operation 'cancel_ordr' (did you mean 'cancel_order'?)"),
    ("args: {order_id: \"{{ order.id }}\", customer_id", "args: {order: \"{{ order.id }}\", customer_id",
     "args: {order:", "args: operation 'cancel_order' has no parameter 'order' (did you mean 'order_id'?)"),
    ("    on_no: declined", "    on_no: declined\n  - set: {n: \"order.items |\"}", "set: {n:",
     "set.n: expression is incomplete"),
    ("    type: choice", "    type: choise", "type: choise",
     "slot 'reason' has unknown type 'choise' (did you mean 'choice'?)"),
])
def test_each_kind_of_mistake_in_a_procedure_names_its_line(tmp_path: Path, old: str, new: str, marker: str,
                                                           message: str) -> None:
    pack = copy_demo(tmp_path)
    procedure = pack / "procedures" / "cancel_order.yaml"
    edit(procedure, old, new)
    found = errors_of(pack)
    assert f"procedures/cancel_order.yaml:{line_of(procedure, marker)}: {message}" in found, found


def test_several_mistakes_in_several_files_are_all_reported(tmp_path: Path) -> None:
    pack = copy_demo(tmp_path)
    cancel = pack / "procedures" / "cancel_order.yaml"
    edit(cancel, "{when: \"order.status == 'pending'\"", "{when: \"order.status ==\"")
    edit(cancel, "    on_failure: cancel_failed", "    on_failure: cancel_faild")
    edit(cancel, "{{ order.placed_at | date }}", "{{ order.placed_at | dat }}")
    returns = pack / "procedures" / "return_item.yaml"
    edit(returns, "(order.delivered_at | days_since) <= 30", "(order.delivered_at | days_snce) <= 30")
    replies = pack / "templates" / "replies.yaml"
    edit(replies, "{{ business.name }}! I'm", "{{ business.name | upcase }}! I'm")
    recap = pack / "templates" / "recap_email.j2"
    recap.write_text(recap.read_text() + "\n{% if ticket_number %}\n")
    found = errors_of(pack)
    assert len(found) == 6, found
    files = [error.split(":")[0] for error in found]
    assert files.count("procedures/cancel_order.yaml") == 3
    assert f"procedures/return_item.yaml:{line_of(returns, 'days_snce')}: check: unknown filter 'days_snce' " \
           "(did you mean 'days_since'?)" in found
    assert f"templates/replies.yaml:{line_of(replies, 'upcase')}: greeting: unknown filter 'upcase' " \
           "(did you mean 'upper'?)" in found
    assert f"templates/recap_email.j2:{len(recap.read_text().splitlines())}: template is incomplete" in found


def test_bad_labels_do_not_hide_the_procedures_other_mistakes(tmp_path: Path) -> None:
    pack = copy_demo(tmp_path)
    procedure = pack / "procedures" / "cancel_order.yaml"
    edit(procedure, "    on_no: declined", "    on_no: declind")
    edit(procedure, "otherwise: not_cancellable", "otherwise: not_cancelable")
    edit(procedure, "{{ order.placed_at | date }}", "{{ order.placed_at | dat }}")
    found = "\n".join(errors_of(pack))
    assert "on_no: no step is labelled 'declind' (did you mean 'declined'?)" in found
    assert "otherwise: no step is labelled 'not_cancelable' (did you mean 'not_cancellable'?)" in found
    assert "unknown filter 'dat'" in found


def test_a_line_inside_a_block_template_is_counted_from_the_block(tmp_path: Path) -> None:
    pack = copy_demo(tmp_path)
    procedure = pack / "procedures" / "cancel_order.yaml"
    edit(procedure, "  - label: too_late\n",
         "  - label: too_late\n    say: |\n      Sorry.\n      {{ order.id | spel }}\n  - label: too_late_2\n")
    assert f"procedures/cancel_order.yaml:{line_of(procedure, '| spel')}: say: unknown filter 'spel' " \
           "(did you mean 'spell'?)" in errors_of(pack)


def test_operations_sql_parameters_and_http_templates_are_checked(tmp_path: Path) -> None:
    pack = copy_demo(tmp_path)
    operations = pack / "operations.yaml"
    edit(operations, "WHERE id = :customer_id", "WHERE id = :customerid")
    edit(operations, "  get_order:\n", "  ping:\n    http: {url: \"http://x.test/{{ args.id | upcase }}\", response: "
                                       "{ok: \"body.ok ==\"}}\n  get_order:\n")
    found = errors_of(pack)
    assert any("the SQL uses :customerid, which is not in params (did you mean 'customer_id'?)" in e for e in found)
    assert f"operations.yaml:{line_of(operations, '  ping:') + 1}: url: unknown filter 'upcase' (did you mean " \
           "'upper'?)" in found
    assert any(e.endswith("response.ok: expression is incomplete") for e in found), found


def test_a_catalogue_operation_must_name_its_products(tmp_path: Path) -> None:
    pack = copy_demo(tmp_path)
    edit(pack / "operations.yaml", "SELECT sku, product, option_summary, colour, size, price, in_stock\n"
         "      FROM products\n      ORDER BY product", "SELECT sku, option_summary, colour, size, price, in_stock\n"
         "      FROM products\n      ORDER BY product")
    assert any("catalogue.operation 'list_products' must return a name or product column" in e
               for e in errors_of(pack))


def test_every_message_template_is_checked_not_only_the_first_three(tmp_path: Path) -> None:
    pack = copy_demo(tmp_path)
    (pack / "templates" / "callback_reminder_sms.j2").write_text(
        "Hi {{ customer.first_name }}, we call you {{ callback.due | upcase }}.\n", encoding="utf-8")
    errors = errors_of(pack)
    assert any(e.startswith("templates/callback_reminder_sms.j2:1:") and "upcase" in e for e in errors), errors
