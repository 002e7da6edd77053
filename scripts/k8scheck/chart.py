"""The chart through real Helm (helm-python-sdk): lint, render, and values that must be refused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

from .common import CHART, KUBE_VERSION, Report, rel

RELEASE, NAMESPACE = "consortia", "consortia-system"
# Helm's longest release name (53 characters): object names must still be valid with it.
LONG_RELEASE = "a-release-name-as-long-as-helm-allows-it-to-be-123456"


def value_sets() -> list[tuple[str, Path | None]]:
    return [("default values", None)] + [
        (f"ci/{p.name}", p) for p in sorted((CHART / "ci").glob("*-values.yaml"))
    ]


def read_values(path: Path | None) -> dict[str, Any] | None:
    # Helm's own YAML reader: "two" stays a string, 0440 an octal, as `helm -f` reads them.
    return None if path is None else helm.values_from_yaml(path.read_text())


def lint(report: Report, label: str, values: dict[str, Any] | None) -> None:
    result = helm.lint(CHART, values, strict=True, namespace=NAMESPACE, kube_version=f"v{KUBE_VERSION}.0")
    problems = [m for m in result.get("messages", []) if m.get("severity", 0) >= 2]
    for m in problems:
        report.fail(f"helm lint ({label})", f"{m.get('path')}: {m.get('error')}")
    for e in result.get("errors") or []:
        report.fail(f"helm lint ({label})", str(e))
    if not problems and not result.get("errors"):
        report.ok()
    infos = [m.get("error") for m in result.get("messages", []) if m.get("severity", 0) < 2]
    note = f" (info: {'; '.join(infos)})" if infos else ""
    report.lines.append(f"  helm lint --strict, {label}: {'ok' if not problems else 'FAILED'}{note}")


def render(
    report: Report, chart: Any, label: str, values: dict[str, Any] | None, release: str = RELEASE
) -> list[tuple[str, dict]]:
    try:
        manifests = chart.render(values, name=release, namespace=NAMESPACE, is_install=True)
    except helm.HelmError as e:
        report.fail(f"render ({label})", str(e).strip())
        return []
    objects = []
    for template, text in sorted(manifests.items()):
        where = f"{template} ({label})"
        if "<no value>" in text:
            report.fail(where, "renders `<no value>`: a value path in the template is wrong")
        if template.endswith("NOTES.txt"):
            if not text.strip():
                report.fail(where, "NOTES.txt renders empty")
            continue
        try:
            docs = [d for d in yaml.safe_load_all(text) if d]
        except yaml.YAMLError as e:
            report.fail(where, f"renders invalid YAML: {e}")
            continue
        objects += [(where, d) for d in docs]
    return objects


def check_invalid_values(report: Report, chart: Any) -> None:
    """Every ci/invalid/*.yaml must be refused, at the stage and with the text it expects."""
    files = sorted((CHART / "ci" / "invalid").glob("*.yaml"))
    if not files:
        report.fail("charts/consortia/ci/invalid", "no negative values files: the schema test cannot fail")
    refused = 0
    for path in files:
        where = rel(path)
        expect = re.search(r"^# expect-(schema|render): (.+)$", path.read_text(), re.M)
        if not expect:
            report.fail(where, "needs a `# expect-schema: <text>` or `# expect-render: <text>` line")
            continue
        stage, text = expect.group(1), expect.group(2).strip()
        values = read_values(path)
        try:
            chart.validate_schema(values)
            schema_error = None
        except helm.HelmValuesError as e:
            schema_error = str(e)
        if stage == "schema":
            if schema_error is None:
                report.fail(where, "values.schema.json ACCEPTED these values; it must reject them")
                continue
            if text not in schema_error:
                report.fail(where, f"rejected, but not for `{text}`: {schema_error.strip()}")
                continue
        elif schema_error is not None:
            report.fail(
                where,
                f"meant to pass the schema and be refused by the templates, but: {schema_error.strip()}",
            )
            continue
        try:
            chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
            report.fail(where, "the chart RENDERED these values; `helm install` would accept them")
            continue
        except helm.HelmError as e:
            if text not in str(e):
                report.fail(where, f"refused, but not for `{text}`: {str(e).strip()}")
                continue
        refused += 1
        report.ok()
        first_line = (schema_error or text).strip().splitlines()[-1].strip()
        report.lines.append(f"  rejected {where} ({stage}): {first_line}")
    report.lines.append(f"  {refused}/{len(files)} invalid values files rejected")
