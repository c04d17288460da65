"""Print the configuration table of the README from the settings models (so the README stays true)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from services.common.settings import Settings


def rows(model: type[BaseModel], prefix: str) -> list[tuple[str, str, str]]:
    out = []
    for name, field in model.model_fields.items():
        ann: Any = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += rows(ann, f"{prefix}{name.upper()}__")
            continue
        default = field.default if field.default_factory is None else field.default_factory()  # type: ignore[call-arg]
        shown = "unset" if default is None else f"`{default}`"
        if "Secret" in str(ann):
            shown += " (secret)"
        desc = (field.description or "").replace("|", "/").replace("\n", " ")
        out.append((f"`{prefix}{name.upper()}`", shown, desc))
    return out


def main() -> None:
    print("| variable | default | meaning |\n|---|---|---|")
    for var, default, desc in rows(Settings, "NEWSFLOW_"):
        print(f"| {var} | {default} | {desc} |")


if __name__ == "__main__":
    main()
