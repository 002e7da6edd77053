"""Objects against schemas: the Kubernetes ones (kubernetes-validate, strict), our CRDs'
openAPIV3Schema for our own custom resources, a structural check for the rest; and the
chart's copy of the CRDs against the generated ones."""

from __future__ import annotations

from collections import Counter
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils as kv

from .common import CHART, KUBE_VERSION, ROOT, Report, ident, load_yaml


def check_crd_copy(report: Report) -> None:
    """charts/consortia/crds/ holds exactly the generated crds/*.yaml."""
    src = {p.name: p.read_bytes() for p in sorted((ROOT / "crds").glob("*.yaml"))}
    dst = {p.name: p.read_bytes() for p in sorted((CHART / "crds").glob("*.yaml"))}
    fix = "refresh it with `cp crds/*.yaml charts/consortia/crds/`"
    for name in sorted(src.keys() | dst.keys()):
        if name not in dst:
            report.fail(f"charts/consortia/crds/{name}", f"missing from the chart; {fix}")
        elif name not in src:
            report.fail(f"charts/consortia/crds/{name}", f"not in crds/ (stale); remove it and {fix}")
        elif src[name] != dst[name]:
            report.fail(f"charts/consortia/crds/{name}", f"differs from crds/{name}; {fix}")
        else:
            report.ok()


def _structural_to_jsonschema(node: Any) -> Any:
    """An apiextensions structural schema as JSON Schema, strict about unknown fields as the
    API server is under `fieldValidation=Strict`."""
    if isinstance(node, list):
        return [_structural_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _structural_to_jsonschema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    out.pop("nullable", None)
    if (
        out.get("type") in ("object", ["object", "null"])
        and "properties" in out
        and "additionalProperties" not in out
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def crd_validators(report: Report) -> dict[tuple[str, str], jsonschema.Draft7Validator]:
    """(apiVersion, kind) -> validator, for every served version of every CRD in crds/."""
    out = {}
    for path in sorted((ROOT / "crds").glob("*.yaml")):
        for crd in load_yaml(report, path):
            if crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                if not version.get("served", True):
                    continue
                schema = _structural_to_jsonschema(version["schema"]["openAPIV3Schema"])
                schema.setdefault("properties", {}).update(
                    apiVersion={"type": "string"}, kind={"type": "string"}, metadata={"type": "object"}
                )
                schema.setdefault("required", [])
                api_version = f"{spec['group']}/{version['name']}"
                out[(api_version, spec["names"]["kind"])] = jsonschema.Draft7Validator(schema)
    return out


def validate_objects(
    report: Report,
    source: str,
    objects: list[tuple[str, dict[str, Any]]],
    crds: dict[tuple[str, str], jsonschema.Draft7Validator],
) -> None:
    """Each (where, object) against the Kubernetes schemas, or its CRD, or structurally."""
    counts: Counter[str] = Counter()
    structure_only: Counter[str] = Counter()
    for where, obj in objects:
        if not isinstance(obj, dict):
            report.fail(where, f"a YAML document that is not an object: {obj!r:.60}")
            continue
        missing = [f for f in ("apiVersion", "kind") if not obj.get(f)]
        if not (obj.get("metadata") or {}).get("name"):
            missing.append("metadata.name")
        if missing:
            report.fail(f"{where} {ident(obj)}", f"missing {', '.join(missing)}")
            continue
        key = (obj["apiVersion"], obj["kind"])
        if key in crds:
            errors = sorted(crds[key].iter_errors(obj), key=lambda e: list(e.path))
            for e in errors:
                path = ".".join(str(p) for p in e.path) or "(root)"
                report.fail(f"{where} {ident(obj)}", f"{path}: {e.message} (CRD schema)")
            if not errors:
                report.ok()
            counts["CRD schema"] += 1
            continue
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
            report.ok()
            counts["Kubernetes schema"] += 1
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.path) or "(root)"
            report.fail(f"{where} {ident(obj)}", f"{path}: {e.message} (Kubernetes {e.version}, strict)")
            counts["Kubernetes schema"] += 1
        except kv.SchemaNotFoundError:
            report.ok()
            structure_only[obj["kind"]] += 1
    detail = ", ".join(f"{n} against the {what}" for what, n in sorted(counts.items()))
    if structure_only:
        kinds = ", ".join(f"{k} x{n}" for k, n in sorted(structure_only.items()))
        detail += f"; structure only (no schema for {kinds})"
    total = sum(counts.values()) + sum(structure_only.values())
    report.lines.append(f"  {source:<52} {total:>3} objects  {detail or '-'}")
