"""The chat-completions test double (tests/llm_double.py) as a fixture for the adapter tests."""

from tests.llm_double import llm_server

__all__ = ["llm_server"]
