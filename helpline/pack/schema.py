"""JSON Schema of the pack files, generated from the pydantic models (one source of truth)."""

from __future__ import annotations

from typing import Any

from helpline.pack.models import BusinessConfig, OperationsFile, Procedure
from helpline.pack.records import RecordsDeclaration


def pack_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Helpline business pack",
        "description": "One schema per pack file; see docs/business-pack.md.",
        "files": {
            "business.yaml": BusinessConfig.model_json_schema(),
            "operations.yaml": OperationsFile.model_json_schema(),
            "procedures/*.yaml": Procedure.model_json_schema(),
            "records.yaml": RecordsDeclaration.model_json_schema(),
        },
    }
