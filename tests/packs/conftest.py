"""Fixtures for the tau-retail pack: the store backend on loopback and the generated pack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.tau_retail.servers import DATASET, STORE_BACKEND, Process, Store, start_store


@dataclass
class TauStore:
    url: str
    client: Store
    users: dict[str, Any]
    orders: dict[str, Any]
    products: dict[str, Any]


@pytest.fixture(scope="session")
def tau_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TauStore]:
    if not DATASET.exists() or not STORE_BACKEND.exists():
        pytest.skip("../shared (tau-retail dataset and store backend) not available")
    work = tmp_path_factory.mktemp("store")
    proc: Process
    proc, url = start_store(work)
    try:
        yield TauStore(url, Store(url), json.loads((DATASET / "users.json").read_text()),
                       json.loads((DATASET / "orders.json").read_text()),
                       json.loads((DATASET / "products.json").read_text()))
    finally:
        proc.stop(timeout=10)


@pytest.fixture(scope="session")
def tau_pack(tau_store: TauStore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helpline.packs.tau_retail import generate

    return generate(DATASET, tmp_path_factory.mktemp("pack") / "tau", tau_store.url)
