"""From settings to a model: the one place that knows which adapter serves which configuration."""

from __future__ import annotations

from helpline.llm.openai_compatible import OpenAICompatibleModel
from helpline.llm.port import LanguageModel
from helpline.llm.settings import LlmSettings


def build_language_model(settings: LlmSettings) -> LanguageModel | None:
    """The configured model, or None in `embedded` mode (no model: nothing is sent anywhere)."""
    if not settings.uses_model:
        return None
    return OpenAICompatibleModel(settings)
