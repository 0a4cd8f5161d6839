"""examples/tau-retail is a valid pack; its servable copy refers to the dataset instead of copying it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bench.tau_retail.compare import failure_causes
from bench.tau_retail.customer import Customer, Data, describe_new, describe_payment
from bench.tau_retail.servers import DATASET
from helpline.cli.main import app
from helpline.pack.loader import load_pack
from helpline.packs.tau_retail import EXAMPLE, generate, knowledge_articles

# The store's operations that alter its data: the engine runs them only right after an explicit yes.
CHANGING_OPERATIONS = {
    "cancel_pending_order",
    "modify_pending_order_address",
    "modify_pending_order_items",
    "modify_pending_order_payment",
    "return_delivered_order_items",
    "exchange_delivered_order_items",
    "modify_user_address",
}


def test_knowledge_articles_follow_the_policy_sections() -> None:
    policy = "# Policy\n\nIntro rule.\n\n## Cancel pending order\n\n- only pending\n\n### Sub\n\n- detail\n"
    articles = knowledge_articles(policy)
    assert set(articles) == {"how-we-can-help.md", "cancel-pending-order.md"}
    assert "title: Cancel pending order" in articles["cancel-pending-order.md"]
    assert "## Sub" in articles["cancel-pending-order.md"]


def test_failure_causes_name_the_operation() -> None:
    task = {"actions": [{"name": "cancel_pending_order", "kwargs": {"order_id": "#W1", "reason": "x"}}]}
    initial = {"orders": {"#W1": {"status": "pending"}}}
    expected = {"orders": {"#W1": {"status": "cancelled"}}}
    assert failure_causes(task, initial, expected, initial) == ["cancel_pending_order: missing"]
    assert failure_causes(task, initial, expected, {"orders": {"#W1": {"status": "x"}}}) == [
        "cancel_pending_order: wrong"]
    assert failure_causes(task, initial, expected, expected) == []


def test_customer_phrases_payment_and_options() -> None:
    import random

    rng = random.Random(1)
    assert "9182" in describe_payment({"source": "credit_card", "brand": "visa", "last_four": "9182"}, rng)
    old = {"options": {"color": "black", "sensor": "laser"}}
    new = {"options": {"color": "white", "sensor": "laser"}}
    assert "white" in describe_new(old, new, rng, full=False)
    assert "laser" in describe_new(old, new, rng, full=True)


@pytest.mark.shared
def test_generated_pack_is_valid(tmp_path: Path) -> None:
    if not DATASET.exists():
        pytest.skip("../shared/datasets/tau-retail not available")
    out = tmp_path / "tau"
    result = CliRunner().invoke(app, ["pack", "from-tau-retail", str(DATASET), str(out),
                                      "--backend-url", "http://127.0.0.1:9"])
    assert result.exit_code == 0, result.output
    pack = load_pack(out)
    ops = pack.operations.operations
    assert len(ops) == 16
    assert {name for name, op in ops.items() if op.changes_data} == CHANGING_OPERATIONS
    # a change is never retried: a timeout after the store applied it must not apply it twice
    assert all(op.http is not None and op.http.retries == 0 for name, op in ops.items() if op.changes_data)
    assert ops["get_order_details"].owner_field == "user_id"
    assert all(op.http is not None and op.http.url.startswith("http://127.0.0.1:9/operations/")
               for op in ops.values())
    assert pack.business.timezone == "America/New_York"
    assert pack.records is not None and pack.records.kinds["orders"].get == "get_order_details"
    assert {"cancel_order", "modify_order_items", "exchange_items", "return_items", "modify_order_payment",
            "modify_order_address", "change_default_address"} <= set(pack.procedures)
    assert len(list((out / "knowledge").glob("*.md"))) == 6  # one article per section of policy.md
    # the data stays in the dataset: no data folder, no customer record in the pack
    assert not (out / "data").exists()
    text = " ".join(p.read_text() for p in out.rglob("*") if p.is_file())
    assert "noah.brown7922@example.com" not in text
    assert yaml.safe_load((out / "business.yaml").read_text())["escalation"]["default_tier"] == "human"
    result = CliRunner().invoke(app, ["pack", "validate", str(out)])
    assert result.exit_code == 0, result.output


def test_example_folder_is_a_valid_pack_without_the_dataset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAU_STORE_URL", raising=False)
    pack = load_pack(EXAMPLE)
    urls = {op.http.url for op in pack.operations.operations.values() if op.http is not None}
    assert "http://127.0.0.1:8765/operations/get_order_details" in urls  # from the folder's .env
    assert not (EXAMPLE / "knowledge").exists() and not (EXAMPLE / "data").exists()  # nothing from ../shared
    monkeypatch.setenv("TAU_STORE_URL", "http://store.test:81")
    assert load_pack(EXAMPLE).operations.operations["cancel_pending_order"].http.url == (  # type: ignore[union-attr]
        "http://store.test:81/operations/cancel_pending_order")


@pytest.mark.shared
def test_regenerating_replaces_stale_files_and_never_the_source(tmp_path: Path) -> None:
    if not DATASET.exists():
        pytest.skip("../shared/datasets/tau-retail not available")
    out = tmp_path / "tau"
    (out / "procedures").mkdir(parents=True)
    (out / "procedures" / "old_procedure.yaml").write_text("id: old_procedure\n")
    generate(DATASET, out, "http://127.0.0.1:9/")
    assert not (out / "procedures" / "old_procedure.yaml").exists()
    assert "TAU_STORE_URL=http://127.0.0.1:9\n" in (out / ".env").read_text()
    with pytest.raises(ValueError, match="source"):
        generate(DATASET, EXAMPLE, "http://127.0.0.1:9")


@pytest.mark.shared
def test_scripted_customer_goals_from_ground_truth() -> None:
    import json

    if not DATASET.exists():
        pytest.skip("../shared/datasets/tau-retail not available")
    data = Data(json.loads((DATASET / "users.json").read_text()), json.loads((DATASET / "orders.json").read_text()),
                json.loads((DATASET / "products.json").read_text()))
    tasks = json.loads((DATASET / "tasks_dev.json").read_text())
    customer = Customer(tasks[1], data, seed=0)
    goal = customer.goals[0]
    assert goal.kind == "exchange" and len(goal.items) == len(goal.new_items) == 2
    assert customer.reply(["Shall I go ahead?"]) in ("no", "no, that's not right", "No, don't do that.")
