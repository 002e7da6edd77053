"""What a schema cannot see in a rendering: references between objects (selectors, port
names, backends, role bindings), container hardening, the operator's and the API server's
RBAC against the reviewed lists, object names, standard labels."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from .common import Report, ident

DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
STANDARD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)

# The operator's reviewed permissions: (apiGroup, resource, verb). A change here is a
# security review, not a template edit.
_ALL = ("get", "list", "watch", "create", "patch", "update", "delete")
OPERATOR_CLUSTER_RULES = {
    *(("consortia.dev", "chains", v) for v in ("get", "list", "watch", "patch", "update")),
    *(("consortia.dev", "chains/status", v) for v in ("get", "patch", "update")),
    ("consortia.dev", "chains/finalizers", "update"),
    *(("apps", "statefulsets", v) for v in _ALL),
    *(("", r, v) for r in ("services", "configmaps", "serviceaccounts", "secrets") for v in _ALL),
    *(("", "persistentvolumeclaims", v) for v in ("get", "list", "watch", "delete")),
    *(("", "pods", v) for v in ("get", "list", "watch")),
    *(("policy", "poddisruptionbudgets", v) for v in _ALL),
    *(("networking.k8s.io", "networkpolicies", v) for v in _ALL),
    *((g, "events", v) for g in ("", "events.k8s.io") for v in ("create", "patch")),
}
OPERATOR_LEASE_RULES = {
    ("coordination.k8s.io", "leases", v) for v in ("get", "list", "watch", "create", "update", "patch")
}
# The API server's reviewed permissions with the kubernetes runtime (a Role in the chains'
# namespace): create key Secrets once, apply, read and delete Chains, read their pods.
API_CHAIN_RULES = {
    *(("", "secrets", v) for v in ("get", "list", "create")),
    *(("consortia.dev", "chains", v) for v in ("get", "list", "watch", "create", "patch", "delete")),
    *(("", "pods", v) for v in ("get", "list")),
}
API_CHAIN_ROLE_SUFFIX = "-api-chains"


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _rules(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (g, r, v)
        for rule in role.get("rules") or []
        for g in rule.get("apiGroups", [])
        for r in rule.get("resources", [])
        for v in rule.get("verbs", [])
    }


Objects = list[tuple[str, dict[str, Any]]]
PodPorts = list[tuple[dict[str, str], set[str]]]  # (pod labels, container port names)


def check_rendered(report: Report, label: str, objects: Objects) -> None:
    """References between objects, hardening, RBAC, names and labels of one rendering."""
    by_kind: dict[str, Objects] = defaultdict(list)
    for where, obj in objects:
        if isinstance(obj, dict):
            by_kind[obj.get("kind", "")].append((where, obj))
    before = len(report.problems)
    _names_and_labels(report, [o for o in objects if isinstance(o[1], dict)])
    pods = _workloads(report, by_kind["Deployment"] + by_kind["StatefulSet"])
    services = _services(report, by_kind["Service"], pods)
    _ingresses(report, by_kind["Ingress"], services)
    _service_monitors(report, by_kind["ServiceMonitor"], services)
    for where, pdb in by_kind["PodDisruptionBudget"]:
        selector = pdb["spec"]["selector"].get("matchLabels") or {}
        if not any(_matches(selector, labels) for labels, _ in pods):
            report.fail(f"{where} {ident(pdb)}", f"selector {selector} matches no rendered pod")
    _rbac(report, by_kind)
    clean = len(report.problems) == before
    if clean:
        report.ok()
    report.lines.append(
        f"  {('render: ' + label):<52} references, hardening, RBAC, labels: {'ok' if clean else 'FAILED'}"
    )


def _names_and_labels(report: Report, objects: Objects) -> None:
    for where, obj in objects:
        name = (obj.get("metadata") or {}).get("name") or ""
        # Services, and the workloads whose names prefix their pods' names, need DNS labels.
        pattern = DNS_LABEL if obj.get("kind") in ("Service", "Deployment", "StatefulSet") else DNS_SUBDOMAIN
        if not pattern.match(name):
            report.fail(
                f"{where} {ident(obj)}",
                f"name {name!r} ({len(name)} characters) is not a valid {obj.get('kind')} name",
            )
        labels = (obj.get("metadata") or {}).get("labels") or {}
        missing = [lbl for lbl in STANDARD_LABELS if lbl not in labels]
        if missing:
            report.fail(f"{where} {ident(obj)}", f"lacks the standard labels {', '.join(missing)}")


def _workloads(report: Report, workloads: Objects) -> PodPorts:
    """Selectors, hardening, probes, resources, images and mounts; returns the pods' ports."""
    pods: PodPorts = []
    for where, w in workloads:
        spec = w["spec"]
        pod_labels = spec["template"]["metadata"].get("labels") or {}
        if not _matches(spec["selector"].get("matchLabels") or {}, pod_labels):
            report.fail(f"{where} {ident(w)}", "selector does not match its own pod template labels")
        pod = spec["template"]["spec"]
        pods.append((pod_labels, {p.get("name") for c in pod["containers"] for p in c.get("ports") or []}))
        volumes = {v["name"] for v in pod.get("volumes") or []}
        pod_seccomp = ((pod.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
        for c in pod["containers"] + (pod.get("initContainers") or []):
            _container(report, f"{where} {ident(w)} container {c['name']}", c, volumes, pod_seccomp)
    return pods


def _container(report: Report, at: str, c: dict[str, Any], volumes: set[str], pod_seccomp: Any) -> None:
    sc = c.get("securityContext") or {}
    hardened = {
        "runAsNonRoot": sc.get("runAsNonRoot") is True,
        "readOnlyRootFilesystem": sc.get("readOnlyRootFilesystem") is True,
        "allowPrivilegeEscalation: false": sc.get("allowPrivilegeEscalation") is False,
        "capabilities.drop [ALL]": "ALL" in ((sc.get("capabilities") or {}).get("drop") or []),
        "seccompProfile RuntimeDefault": "RuntimeDefault"
        in ((sc.get("seccompProfile") or {}).get("type"), pod_seccomp),
    }
    for what, good in hardened.items():
        if not good:
            report.fail(at, f"securityContext lacks {what}")
    if not c.get("livenessProbe") or not c.get("readinessProbe"):
        report.fail(at, "needs a liveness and a readiness probe")
    res = c.get("resources") or {}
    if not res.get("requests") or not (res.get("limits") or {}).get("memory"):
        report.fail(at, "needs resource requests and a memory limit")
    image = c.get("image", "")
    if image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1]:
        report.fail(at, f"image {image!r} is not pinned to a tag or digest")
    for m in c.get("volumeMounts") or []:
        if m["name"] not in volumes:
            report.fail(at, f"mounts volume {m['name']!r} that the pod does not declare")


def _services(report: Report, services: Objects, pods: PodPorts) -> dict[str, dict[str, Any]]:
    """Each Service selects a rendered pod that has its target ports; returns them by name."""
    by_name = {}
    for where, svc in services:
        by_name[svc["metadata"]["name"]] = svc
        selector = svc["spec"].get("selector") or {}
        targets = [names for labels, names in pods if _matches(selector, labels)]
        if not targets:
            report.fail(f"{where} {ident(svc)}", f"selector {selector} matches no rendered pod")
            continue
        for port in svc["spec"]["ports"]:
            target = port.get("targetPort")
            if isinstance(target, str) and not all(target in names for names in targets):
                report.fail(f"{where} {ident(svc)}", f"targetPort {target!r} is not a container port name")
    return by_name


def _port_names(svc: dict[str, Any]) -> set[str]:
    return {p.get("name") for p in svc["spec"].get("ports") or []}


def _ingresses(report: Report, ingresses: Objects, services: dict[str, dict[str, Any]]) -> None:
    for where, ing in ingresses:
        rules = ing["spec"].get("rules") or []
        for rule in rules:
            for path in (rule.get("http") or {}).get("paths") or []:
                backend = path["backend"]["service"]
                svc = services.get(backend["name"])
                if svc is None:
                    report.fail(
                        f"{where} {ident(ing)}", f"backend Service {backend['name']!r} is not rendered"
                    )
                elif "name" in backend["port"] and backend["port"]["name"] not in _port_names(svc):
                    report.fail(
                        f"{where} {ident(ing)}",
                        f"backend port {backend['port']['name']!r} not on the Service",
                    )
                # Metrics carry every tenant's series: never behind the public Ingress.
                port = backend["port"].get("name") or backend["port"].get("number")
                if port in ("metrics", 9464):
                    report.fail(f"{where} {ident(ing)}", "routes to the metrics port")
        hosts = {r.get("host") for r in rules}
        for tls in ing["spec"].get("tls") or []:
            if not set(tls.get("hosts") or []) <= hosts:
                report.fail(f"{where} {ident(ing)}", "a TLS host has no rule")


def _service_monitors(report: Report, monitors: Objects, services: dict[str, dict[str, Any]]) -> None:
    for where, sm in monitors:
        selector = sm["spec"]["selector"].get("matchLabels") or {}
        matched = [s for s in services.values() if _matches(selector, s["metadata"].get("labels") or {})]
        if not matched:
            report.fail(f"{where} {ident(sm)}", f"selector {selector} matches no rendered Service")
        for ep in sm["spec"].get("endpoints") or []:
            for s in matched:
                if ep.get("port") not in _port_names(s):
                    report.fail(f"{where} {ident(sm)}", f"endpoint port {ep.get('port')!r} not on {ident(s)}")


def _rbac(report: Report, by_kind: dict[str, Objects]) -> None:
    """Bindings name rendered roles; the operator's roles grant exactly the reviewed rules."""
    roles = {(k, o["metadata"]["name"]) for k in ("Role", "ClusterRole") for _, o in by_kind[k]}
    for where, b in by_kind["RoleBinding"] + by_kind["ClusterRoleBinding"]:
        ref = (b["roleRef"]["kind"], b["roleRef"]["name"])
        if ref not in roles:
            report.fail(f"{where} {ident(b)}", f"roleRef {ref[0]}/{ref[1]} is not rendered")
    # Secrets in every namespace only when the values asked for it, never by default.
    secret_roles = {
        o["metadata"]["name"]
        for _, o in by_kind["ClusterRole"]
        if any("secrets" in (r.get("resources") or []) for r in o.get("rules") or [])
    }
    for where, b in by_kind["ClusterRoleBinding"]:
        asked = (b["metadata"].get("annotations") or {}).get("consortia.dev/grants-every-namespace")
        if b["roleRef"]["name"] in secret_roles and not asked:
            report.fail(
                f"{where} {ident(b)}",
                "binds Secrets in every namespace without operator.watchAllNamespaces=true",
            )
    for where, role in by_kind["ClusterRole"]:
        if role["metadata"]["name"].endswith("-operator"):
            got = _rules(role)
            for extra in sorted(got - OPERATOR_CLUSTER_RULES):
                report.fail(f"{where} {ident(role)}", f"grants {extra} beyond the reviewed list")
            for lost in sorted(OPERATOR_CLUSTER_RULES - got):
                report.fail(f"{where} {ident(role)}", f"no longer grants {lost} the operator needs")
    for where, role in by_kind["Role"]:
        if role["metadata"]["name"].endswith("-leader-election") and _rules(role) != OPERATOR_LEASE_RULES:
            report.fail(f"{where} {ident(role)}", f"leader-election rules differ: {sorted(_rules(role))}")
        if role["metadata"]["name"].endswith(API_CHAIN_ROLE_SUFFIX):
            got = _rules(role)
            for extra in sorted(got - API_CHAIN_RULES):
                report.fail(f"{where} {ident(role)}", f"grants {extra} beyond the reviewed list")
            for lost in sorted(API_CHAIN_RULES - got):
                report.fail(f"{where} {ident(role)}", f"no longer grants {lost} the kubernetes runtime needs")
    _api_runtime(report, by_kind)


def _api_runtime(report: Report, by_kind: dict[str, Objects]) -> None:
    """The API server gets a token and its Role exactly when it runs chains on Kubernetes."""
    roles = [o for _, o in by_kind["Role"] if o["metadata"]["name"].endswith(API_CHAIN_ROLE_SUFFIX)]
    for where, d in by_kind["Deployment"]:
        pod = d["spec"]["template"]["spec"]
        env = {e["name"]: e.get("value") for c in pod["containers"] for e in c.get("env") or []}
        if "CONSORTIA_RUNTIME" not in env:
            continue
        at = f"{where} {ident(d)}"
        if env["CONSORTIA_RUNTIME"] != "kubernetes":
            if roles:
                report.fail(at, f"runtime {env['CONSORTIA_RUNTIME']!r} but a kubernetes-runtime Role is rendered")
            continue
        if pod.get("automountServiceAccountToken") is not True:
            report.fail(at, "the kubernetes runtime needs a service account token mounted")
        namespace = env.get("CONSORTIA_KUBE_NAMESPACE")
        if not any(r["metadata"].get("namespace") == namespace for r in roles):
            report.fail(at, f"no kubernetes-runtime Role in CONSORTIA_KUBE_NAMESPACE {namespace!r}")
        account = pod.get("serviceAccountName")
        bound = [
            b
            for _, b in by_kind["RoleBinding"]
            if b["roleRef"]["name"].endswith(API_CHAIN_ROLE_SUFFIX)
            and b["metadata"].get("namespace") == namespace
            and any(s.get("name") == account for s in b.get("subjects") or [])
        ]
        if not bound:
            report.fail(at, f"the kubernetes-runtime Role in {namespace!r} is not bound to ServiceAccount {account!r}")
