"""What every check shares: where things are, the Kubernetes version, the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
CHART = ROOT / "charts" / "consortia"
KUBE_VERSION = "1.33"


class Report:
    """Problems found and what was validated, per source."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.passed = 0
        self.lines: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def ok(self) -> None:
        self.passed += 1


def rel(path: Path) -> str:
    """A path as shown in messages: relative to the repository when inside it."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def ident(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')}/{meta.get('name', '?')}"


def load_yaml(report: Report, path: Path) -> list[dict[str, Any]]:
    try:
        return [d for d in yaml.safe_load_all(path.read_text()) if d]
    except yaml.YAMLError as e:
        report.fail(rel(path), f"not valid YAML: {e}")
        return []
