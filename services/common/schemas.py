"""JSON Schemas of the topic values, generated from the record types (schemas are data; a test keeps them equal)."""

from __future__ import annotations

import json
from pathlib import Path

from services.common.paths import SCHEMAS_DIR
from services.common.records import TOPIC_RECORDS


def schema_text(logical: str) -> str:
    model = TOPIC_RECORDS[logical]
    schema = model.model_json_schema(mode="serialization")
    schema["$id"] = f"https://newsflow.dev/schemas/{logical}.json"
    schema["title"] = f"newsflow.{logical} value ({model.__name__})"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def _path(logical: str) -> Path:
    return SCHEMAS_DIR / "topics" / f"{logical}.json"


def write_schemas() -> list[Path]:
    out = []
    for logical in TOPIC_RECORDS:
        p = _path(logical)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(schema_text(logical))
        out.append(p)
    return out


def check_schemas() -> list[Path]:
    """Schema files that differ from the record types."""
    return [
        _path(n) for n in TOPIC_RECORDS if not _path(n).exists() or _path(n).read_text() != schema_text(n)
    ]
