"""The checks behind scripts/check-k8s.py: chart (Helm lint, render, refused values), schemas
(Kubernetes, CRD, structural), rendered (what a schema cannot see), common (paths, report)."""
