"""The packaged local model: its file is the pinned one, and its llama.cpp server answers in schema-valid JSON.

The tests marked `llm` need the `llm` extra (scripts/install.sh installs it); select them with `-m llm`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from helpline.llm.local_model import DEFAULT_MODEL, LocalModelError, model_file, part_files
from helpline.llm.server import openai_schema_to_llama
from helpline.understanding.embeddings import file_sha256
from tests.llm_local import MODEL_CACHE, LocalLlm, local_llm, missing_reason

__all__ = ["local_llm"]

# What a command generator asks of a model: a closed choice and a typed slot, nothing else.
COMMAND_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "procedure": {"type": "string", "enum": ["cancel_order", "return_items", "change_address", "none"]},
        "order_id": {"type": "string", "pattern": "^#W[0-9]{7}$"},
        "reason": {"type": "string", "enum": ["no longer needed", "ordered by mistake"]},
    },
    "required": ["procedure", "order_id", "reason"],
    "additionalProperties": False,
}


def _needs_extra() -> None:
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)


@pytest.mark.llm
def test_the_joined_model_file_is_the_pinned_gguf() -> None:
    _needs_extra()
    path = model_file(DEFAULT_MODEL, MODEL_CACHE)
    assert path.stat().st_size == DEFAULT_MODEL.size
    assert file_sha256(path) == DEFAULT_MODEL.sha256
    with path.open("rb") as fh:
        assert fh.read(4) == b"GGUF"


@pytest.mark.llm
def test_a_part_that_does_not_hash_right_is_refused_and_leaves_no_file(tmp_path: Path) -> None:
    _needs_extra()
    last_part = part_files(DEFAULT_MODEL)[-1]
    # the real last chunk (45 MB) posing as a whole model with a different pinned hash
    impostor = replace(DEFAULT_MODEL, distributions=DEFAULT_MODEL.distributions[-1:], size=last_part.stat().st_size,
                       sha256="0" * 64, filename="impostor.gguf")
    with pytest.raises(LocalModelError, match="sha256"):
        model_file(impostor, tmp_path)
    assert not (tmp_path / "impostor.gguf").exists()


def test_a_missing_model_package_names_the_install_command(tmp_path: Path) -> None:
    absent = replace(DEFAULT_MODEL, distributions=("helpline-no-such-model-part1",))
    with pytest.raises(LocalModelError, match=r"not installed: .*helpline\[llm\]"):
        model_file(absent, tmp_path)


def test_the_openai_json_schema_format_becomes_llama_cpp_python_s_schema_format() -> None:
    wanted = {"name": "command", "strict": True, "schema": COMMAND_SCHEMA}
    body = {"messages": [], "response_format": {"type": "json_schema", "json_schema": wanted}}
    assert openai_schema_to_llama(body)["response_format"] == {"type": "json_object", "schema": COMMAND_SCHEMA}
    plain = {"messages": [], "response_format": {"type": "text"}}
    assert openai_schema_to_llama(plain) == plain


@pytest.mark.llm
def test_the_local_server_answers_a_chat_completion_with_schema_valid_json(local_llm: LocalLlm) -> None:
    models = httpx.get(f"{local_llm.url}/v1/models", timeout=10).json()
    assert local_llm.model in [m["id"] for m in models["data"]]
    response = httpx.post(f"{local_llm.url}/v1/chat/completions", timeout=120, json={
        "model": local_llm.model,
        "temperature": 0,
        "max_tokens": 60,
        "messages": [
            {"role": "system", "content": "You read a customer's message for a shop's support agent and answer "
                                          "with the JSON command it asks for."},
            {"role": "user", "content": "Hi, please cancel order #W5442520, I ordered it by mistake."},
        ],
        # the OpenAI form, as Helpline's adapter sends it: the server must constrain the answer to the schema
        "response_format": {"type": "json_schema",
                            "json_schema": {"name": "command", "strict": True, "schema": COMMAND_SCHEMA}},
    })
    assert response.status_code == 200, response.text
    body = response.json()
    answer = json.loads(body["choices"][0]["message"]["content"])
    jsonschema.validate(answer, COMMAND_SCHEMA)
    assert answer["procedure"] == "cancel_order"
    assert answer["order_id"] == "#W5442520"
    assert body["usage"]["completion_tokens"] > 0
