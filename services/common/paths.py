"""Where the data files (schemas, deploy provisioning, seeds) live, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent.parent


def _first_existing(*candidates: Path) -> Path:
    for c in candidates:
        if c.exists():
            return c
    return candidates[0]


REPO_ROOT = _PKG.parent
SCHEMAS_DIR = _first_existing(REPO_ROOT / "schemas", _PKG / "_data" / "schemas")
DEPLOY_DIR = _first_existing(REPO_ROOT / "deploy", _PKG / "_data" / "deploy")
