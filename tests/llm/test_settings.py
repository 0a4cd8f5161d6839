"""Where the language-model settings come from (flags > environment > business.yaml > defaults), what a pack
may say about the model, and the command line refusing settings that can't work."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpline.llm.factory import build_language_model
from helpline.llm.openai_compatible import OpenAICompatibleModel
from helpline.llm.settings import (
    LlmMode,
    LlmSettings,
    LlmSettingsError,
    read_pack_llm_section,
    resolve_llm_settings,
)
from helpline.pack.loader import PackInvalid, load_pack
from helpline.pack.models import LanguageModelConfig
from helpline.pack.schema import pack_schema

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
KEY = "sk-settings-test-0b1c2d3e4f"


def pack_with_llm(tmp_path: Path, section: object) -> Path:
    pack = tmp_path / "pack"
    shutil.copytree(DEMO, pack)
    business = pack / "business.yaml"
    business.write_text(business.read_text() + "\n" + yaml.safe_dump({"llm": section}))
    return pack


def test_without_a_url_the_mode_is_embedded_and_there_is_no_model() -> None:
    settings = resolve_llm_settings(env={})
    assert settings.mode is LlmMode.EMBEDDED and not settings.uses_model
    assert build_language_model(settings) is None


def test_a_url_makes_hybrid_the_default() -> None:
    settings = resolve_llm_settings(url="http://127.0.0.1:8081", model="qwen", env={})
    assert settings.mode is LlmMode.HYBRID
    model = build_language_model(settings)
    assert isinstance(model, OpenAICompatibleModel) and model.name == "qwen"
    model.close()


def test_flags_beat_the_environment_which_beats_the_pack() -> None:
    pack = LanguageModelConfig(url="http://pack.example:8000", model="pack-model", mode="llm", timeout_s=5,
                               share_customer_data=True)
    env = {"HELPLINE_LLM_URL": "https://env.example/v1", "HELPLINE_LLM_MODEL": "env-model",
           "HELPLINE_LLM_API_KEY": KEY}

    from_pack = resolve_llm_settings(env={}, pack=pack)
    assert (from_pack.url, from_pack.model, from_pack.mode) == ("http://pack.example:8000", "pack-model", LlmMode.LLM)
    assert from_pack.timeout_s == 5 and from_pack.share_customer_data and from_pack.api_key is None

    from_env = resolve_llm_settings(env=env, pack=pack)
    assert (from_env.url, from_env.model, from_env.mode) == ("https://env.example/v1", "env-model", LlmMode.LLM)
    assert from_env.api_key is not None and from_env.api_key.get_secret_value() == KEY

    from_flags = resolve_llm_settings(url="http://127.0.0.1:9000", mode="hybrid", env=env, pack=pack)
    assert (from_flags.url, from_flags.model, from_flags.mode) == ("http://127.0.0.1:9000", "env-model",
                                                                   LlmMode.HYBRID)
    assert from_flags.timeout_s == 5  # what no higher source says still comes from the pack


def test_empty_environment_values_are_unset() -> None:
    settings = resolve_llm_settings(env={"HELPLINE_LLM_URL": "", "HELPLINE_LLM_MODE": " "})
    assert settings.mode is LlmMode.EMBEDDED and settings.url is None


@pytest.mark.parametrize(("sources", "names"), [
    ({"mode": "llm"}, "--llm-url"),
    ({"url": "http://127.0.0.1:8081"}, "--llm-model"),
    ({"url": "http://127.0.0.1:8081", "model": "m", "mode": "smart"}, "mode"),
    ({"url": "ftp://models.example", "model": "m"}, "url"),
])
def test_settings_that_cannot_work_are_refused_with_the_setting_to_fix(sources: dict[str, Any],
                                                                      names: str) -> None:
    with pytest.raises(LlmSettingsError) as refused:
        resolve_llm_settings(env={"HELPLINE_LLM_API_KEY": KEY}, **sources)
    assert names in str(refused.value) and KEY not in str(refused.value)


def test_the_key_never_shows_in_the_settings_repr_or_dump() -> None:
    settings = resolve_llm_settings(url="http://127.0.0.1:8081", model="m", env={"HELPLINE_LLM_API_KEY": KEY})
    assert KEY not in repr(settings) and KEY not in str(settings.model_dump())
    assert KEY not in settings.model_dump_json()


def test_a_pack_may_configure_the_model_and_the_schema_says_so(tmp_path: Path) -> None:
    pack = load_pack(pack_with_llm(tmp_path, {"url": "http://127.0.0.1:8081", "model": "qwen", "mode": "llm",
                                              "share_customer_data": False, "breaker_failures": 3}))
    assert pack.business.llm is not None and pack.business.llm.breaker_failures == 3
    assert read_pack_llm_section(pack.root) == pack.business.llm
    business_schema = pack_schema()["files"]["business.yaml"]
    assert "llm" in business_schema["properties"]
    assert "share_customer_data" in business_schema["$defs"]["LanguageModelConfig"]["properties"]


def test_the_demo_pack_has_no_model_section() -> None:
    assert load_pack(DEMO).business.llm is None and read_pack_llm_section(DEMO) is None


@pytest.mark.parametrize("section", [{"api_key": KEY}, {"mode": "sometimes"}, {"timeout_s": 0}])
def test_a_pack_cannot_hold_the_key_or_nonsense(tmp_path: Path, section: dict[str, object]) -> None:
    with pytest.raises(PackInvalid) as invalid:
        load_pack(pack_with_llm(tmp_path, section))
    assert any("llm" in str(error) for error in invalid.value.errors)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("HELPLINE_LLM_")}
    return subprocess.run([sys.executable, "-m", "helpline.cli.main", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=120, check=False)


def test_chat_refuses_llm_mode_without_a_model_server(tmp_path: Path) -> None:
    result = cli("chat", "--pack", str(DEMO), "--db", f"sqlite:///{tmp_path / 'h.db'}", "--llm-mode", "llm",
                 cwd=tmp_path)
    assert result.returncode == 2
    assert "--llm-url" in result.stderr


def test_serve_and_chat_take_the_llm_flags(tmp_path: Path) -> None:
    for command in ("serve", "chat"):
        result = cli(command, "--help", cwd=tmp_path)
        assert result.returncode == 0
        for flag in ("--llm-url", "--llm-model", "--llm-mode"):
            assert flag in result.stdout, (command, flag)


def test_settings_objects_are_frozen() -> None:
    settings = LlmSettings()
    with pytest.raises(ValueError):
        settings.mode = LlmMode.LLM  # type: ignore[misc]
    assert json.loads(settings.model_dump_json())["mode"] == "embedded"
