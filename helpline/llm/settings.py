"""Where the language-model settings come from, highest first: the `--llm-*` flags of `helpline serve` and
`helpline chat`, the `HELPLINE_LLM_*` environment, the optional `llm:` section of the pack's business.yaml,
then the defaults below. The API key comes from `HELPLINE_LLM_API_KEY` only: never a flag (it would show in
`ps`), never a pack file (packs are committed to git)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from helpline.pack.models import LanguageModelConfig

ENV_URL = "HELPLINE_LLM_URL"
ENV_MODEL = "HELPLINE_LLM_MODEL"
ENV_MODE = "HELPLINE_LLM_MODE"
ENV_API_KEY = "HELPLINE_LLM_API_KEY"


class LlmMode(StrEnum):
    EMBEDDED = "embedded"  # no model: the embedded understanding only (today's behaviour)
    HYBRID = "hybrid"  # embedded first, the model when the embedded generator is unsure or finds nothing
    LLM = "llm"  # the model for every turn (the embedded result is the fallback)


class LlmSettingsError(ValueError):
    """The settings don't make a usable configuration; the message says which setting to fix."""


class LlmSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str | None = Field(default=None, pattern=r"^https?://")
    model: str | None = None
    # hybrid when a url is set, else embedded (filled in by `_default_mode`)
    mode: LlmMode = LlmMode.EMBEDDED
    api_key: SecretStr | None = None  # SecretStr: '**********' in every repr, str() and model_dump()
    timeout_s: float = Field(default=8.0, gt=0, le=120)  # the whole call, retries and back-off included
    connect_timeout_s: float = Field(default=2.0, gt=0, le=60)
    max_retries: int = Field(default=2, ge=0, le=5)
    retry_backoff_s: float = Field(default=0.25, ge=0, le=10)  # first back-off; doubles, with full jitter
    retry_after_cap_s: float = Field(default=4.0, ge=0, le=60)  # a longer Retry-After fails the call at once
    max_tokens: int = Field(default=400, ge=16, le=8192)
    share_customer_data: bool = False
    breaker_failures: int = Field(default=5, ge=1, le=100)
    breaker_cooldown_s: float = Field(default=30.0, ge=0, le=3600)
    max_connections: int = Field(default=8, ge=1, le=64)

    @model_validator(mode="before")
    @classmethod
    def _default_mode(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("mode") in (None, ""):
            data = {**data, "mode": LlmMode.HYBRID if data.get("url") else LlmMode.EMBEDDED}
        return data

    @model_validator(mode="after")
    def _usable(self) -> LlmSettings:
        if self.mode is not LlmMode.EMBEDDED:
            if not self.url:
                raise ValueError(f"mode '{self.mode}' needs a model server: set --llm-url, {ENV_URL} or llm.url "
                                 "in business.yaml")
            if not self.model:
                raise ValueError(f"set the model name with --llm-model, {ENV_MODEL} or llm.model in business.yaml "
                                 "(the name the server serves; a llama.cpp server accepts any name)")
        return self

    @property
    def uses_model(self) -> bool:
        return self.mode is not LlmMode.EMBEDDED


def resolve_llm_settings(*, url: str | None = None, model: str | None = None, mode: str | None = None,
                         env: Mapping[str, str] | None = None, pack: LanguageModelConfig | None = None,
                         **overrides: Any) -> LlmSettings:
    """Merge the sources (flags > environment > pack > defaults). `overrides` are further LlmSettings fields
    set by code (tests, benchmarks) at flag level. Raises LlmSettingsError naming the setting to fix."""
    env = os.environ if env is None else env
    merged: dict[str, Any] = pack.model_dump(exclude_none=True) if pack is not None else {}
    from_env = {"url": env.get(ENV_URL), "model": env.get(ENV_MODEL), "mode": env.get(ENV_MODE),
                "api_key": env.get(ENV_API_KEY)}
    merged.update({name: value.strip() for name, value in from_env.items() if value and value.strip()})
    flags = {"url": url, "model": model, "mode": mode, **overrides}
    merged.update({name: value for name, value in flags.items() if value is not None and value != ""})
    try:
        return LlmSettings.model_validate(merged)
    except ValidationError as exc:
        # pydantic's message would quote the input, and the input may hold the API key
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'llm'}: "
                             f"{err['msg'].removeprefix('Value error, ')}" for err in exc.errors())
        raise LlmSettingsError(f"language model settings: {problems}") from None


def read_pack_llm_section(pack_dir: Path | str) -> LanguageModelConfig | None:
    """The `llm:` section of a pack's business.yaml, read on its own so the command line can resolve the
    settings before the pack is loaded. None when there is none or it can't be read: `load_pack` then reports
    the pack's errors with file and line."""
    try:
        data = yaml.safe_load((Path(pack_dir) / "business.yaml").read_text(encoding="utf-8"))
        section = data.get("llm") if isinstance(data, dict) else None
        return LanguageModelConfig.model_validate(section) if section is not None else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValidationError):
        return None
