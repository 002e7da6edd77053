#!/usr/bin/env python3
"""Offline checks of every Kubernetes manifest Consortia ships or generates.

1. The chart's copy of the CRDs (charts/consortia/crds/) is identical to crds/.
2. `helm lint --strict` of charts/consortia (real Helm v4, linked in by helm-python-sdk) with
   the default values and each charts/consortia/ci/*-values.yaml.
3. The chart rendered with those same value sets; every object validated by
   kubernetes-validate in strict mode (unknown fields are errors) against Kubernetes
   KUBE_VERSION, then checked for what a schema cannot see: Services, Ingresses,
   ServiceMonitors and PodDisruptionBudgets that select nothing or name a missing port,
   bindings to roles that do not exist, containers that are not hardened, operator and API
   server RBAC that drifted from the reviewed lists (and an API server on the kubernetes
   runtime without its token or Role), standard labels, "<no value>" in the output.
4. Every values file under charts/consortia/ci/invalid/ is rejected, by values.schema.json
   (`# expect-schema: <text>`) or by the chart's own checks (`# expect-render: <text>`),
   with an error containing <text>.
5. crds/*.yaml and every YAML file under operator/tests/golden/ (absent is fine) validated
   the same way; objects of our own CRDs (Chain) against the CRD's openAPIV3Schema.

Kinds without a schema here (ServiceMonitor) get a structural check only (apiVersion, kind,
metadata.name) and are listed as such. Nothing touches the network or a cluster.
The checks live in scripts/k8scheck/. Exits 1 listing every problem; run from anywhere.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from pathlib import Path

try:
    import helm_python as helm
    import kubernetes_validate
    import kubernetes_validate.utils as kv
except ImportError as e:  # the message is the point
    sys.exit(
        f"check-k8s: {e}. Install the pinned tools first:\n"
        "  python3 -m venv .venv-test && .venv-test/bin/pip install -r scripts/test-requirements.txt\n"
        "  .venv-test/bin/python scripts/check-k8s.py\n"
        "(scripts/test does this for you)"
    )

from k8scheck.chart import LONG_RELEASE, check_invalid_values, lint, read_values, render, value_sets
from k8scheck.common import CHART, KUBE_VERSION, ROOT, Report, load_yaml, rel
from k8scheck.rendered import check_rendered
from k8scheck.schemas import check_crd_copy, crd_validators, validate_objects

REQUIREMENTS = ROOT / "scripts" / "test-requirements.txt"
GOLDEN = ROOT / "operator" / "tests" / "golden"


def check_pins(report: Report) -> None:
    """The installed tools are the pinned ones, so results do not drift between machines."""
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, want = line.partition("==")
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            have = "not installed"
        if have != want:
            report.fail(
                rel(REQUIREMENTS),
                f"{name} {have} is installed but {want} is pinned; reinstall the venv "
                "(rm -rf .venv-test and run scripts/test)",
            )
    if kv.major_minor(KUBE_VERSION) not in {kv.major_minor(v) for v in kv.all_versions()}:
        report.fail("kubernetes-validate", f"has no schemas for Kubernetes {KUBE_VERSION}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--golden",
        type=Path,
        default=GOLDEN,
        help=f"directory of generated manifests to validate (default: {rel(GOLDEN)})",
    )
    golden_dir = parser.parse_args().golden.resolve()
    report = Report()
    check_pins(report)
    check_crd_copy(report)
    crds = crd_validators(report)

    report.lines.append(f"Helm {helm.helm_sdk_version()} (helm-python-sdk {helm.__version__}):")
    with helm.Chart.load(CHART) as chart:
        rendered = []
        for label, path in value_sets():
            values = read_values(path)
            lint(report, label, values)
            objects = render(report, chart, label, values)
            rendered.append((label, objects))
        label = f"default values, {len(LONG_RELEASE)}-character release name"
        rendered.append((label, render(report, chart, label, None, release=LONG_RELEASE)))
        check_invalid_values(report, chart)

    report.lines.append(
        f"Objects validated against Kubernetes {KUBE_VERSION} "
        f"(kubernetes-validate {kubernetes_validate.__version__}, strict):"
    )
    for label, objects in rendered:
        validate_objects(report, f"render: {label}", objects, crds)
    for directory in (ROOT / "crds", CHART / "crds"):
        files = sorted(directory.glob("*.yaml"))
        objects = [(rel(p), d) for p in files for d in load_yaml(report, p)]
        validate_objects(report, rel(directory) + "/", objects, crds)
    shown = rel(golden_dir)
    golden = []
    if golden_dir.is_dir():
        golden = sorted(p for p in golden_dir.rglob("*") if p.suffix in (".yaml", ".yml"))
    if golden:
        objects = [(rel(p), d) for p in golden for d in load_yaml(report, p)]
        validate_objects(report, f"{shown}/ ({len(golden)} files)", objects, crds)
    else:
        report.lines.append(f"  {shown + '/':<52}   - no YAML files yet (nothing to validate)")

    report.lines.append("Rendered objects checked beyond the schemas:")
    for label, objects in rendered:
        check_rendered(report, label, objects)

    print("\n".join(report.lines))
    if report.problems:
        print(f"\n{len(report.problems)} problem(s):", file=sys.stderr)
        for p in report.problems:
            print(f"  - {p}", file=sys.stderr)
        print(f"\ncheck-k8s: {report.passed} passed, {len(report.problems)} failed", file=sys.stderr)
        return 1
    print(f"\ncheck-k8s: {report.passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
