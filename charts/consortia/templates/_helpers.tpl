{{/*
Names, labels, image references and the checks that refuse unsafe combinations of values.
*/}}

{{/* Chart name, overridable. */}}
{{- define "consortia.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name. A release whose name already contains the chart name is not
repeated ("consortia" not "consortia-consortia"). Component suffixes are appended to it and
Service names must stay DNS labels (63 characters): "-operator-metrics" is the longest
suffix (17), so this is cut at 46.
*/}}
{{- define "consortia.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 46 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 46 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 46 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, as the helm.sh/chart label wants them. */}}
{{- define "consortia.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "consortia.labels" -}}
helm.sh/chart: {{ include "consortia.chart" . }}
app.kubernetes.io/name: {{ include "consortia.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: consortia
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels: stable across upgrades (no version), so never change them. */}}
{{- define "consortia.selectorLabels" -}}
app.kubernetes.io/name: {{ include "consortia.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Operator: names and labels. */}}
{{- define "consortia.operator.fullname" -}}
{{- printf "%s-operator" (include "consortia.fullname" .) }}
{{- end }}

{{- define "consortia.operator.labels" -}}
{{ include "consortia.labels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "consortia.operator.selectorLabels" -}}
{{ include "consortia.selectorLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "consortia.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "consortia.operator.fullname" .) .Values.operator.serviceAccount.name }}
{{- else }}
{{- required "operator.serviceAccount.name is required when operator.serviceAccount.create is false" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* API server: names and labels. */}}
{{- define "consortia.api.fullname" -}}
{{- printf "%s-api" (include "consortia.fullname" .) }}
{{- end }}

{{- define "consortia.api.labels" -}}
{{ include "consortia.labels" . }}
app.kubernetes.io/component: api-server
{{- end }}

{{- define "consortia.api.selectorLabels" -}}
{{ include "consortia.selectorLabels" . }}
app.kubernetes.io/component: api-server
{{- end }}

{{- define "consortia.api.serviceAccountName" -}}
{{- if .Values.apiServer.serviceAccount.create }}
{{- default (include "consortia.api.fullname" .) .Values.apiServer.serviceAccount.name }}
{{- else }}
{{- required "apiServer.serviceAccount.name is required when apiServer.serviceAccount.create is false" .Values.apiServer.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
An image reference from {repository, tag, digest}: a digest pins it (repo@sha256:...), the
tag defaults to the chart's appVersion. Call with (dict "image" .Values.x.image "root" $).
*/}}
{{- define "consortia.image" -}}
{{- $tag := default .root.Chart.AppVersion .image.tag }}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}
{{- end }}

{{/* imagePullSecrets for a pod spec; entries may be names or {name: ...} objects. */}}
{{- define "consortia.imagePullSecrets" -}}
{{- range . }}
{{- if kindIs "map" . }}
- name: {{ .name }}
{{- else }}
- name: {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The URL the API server is reached at: apiServer.publicUrl, else the ingress host, else the
in-cluster Service. It is written into certificates as their CRL distribution point and is
the base of the single sign-on redirect, so it must be what clients actually use.
*/}}
{{- define "consortia.api.publicUrl" -}}
{{- $api := .Values.apiServer }}
{{- if $api.publicUrl }}
{{- trimSuffix "/" $api.publicUrl }}
{{- else if and $api.ingress.enabled $api.ingress.host }}
{{- printf "%s://%s" (ternary "https" "http" (not (empty $api.ingress.tls.secretName))) $api.ingress.host }}
{{- else }}
{{- printf "http://%s.%s.svc:%d" (include "consortia.api.fullname" .) .Release.Namespace (int $api.service.port) }}
{{- end }}
{{- end }}

{{/*
Refuses values that would render valid YAML but lose data or keys at run time. The API
server keeps SQLite, its key-encryption key (which seals every CA key) and its token key in
the data directory unless told otherwise, so where that directory does not survive a
restart, or is not shared by every replica, the keys must come from a Secret and the data
from PostgreSQL.
*/}}
{{/* Namespace whose Chains the operator watches; empty when it watches every namespace. */}}
{{- define "consortia.operator.watchedNamespace" -}}
{{- if not .Values.operator.watchAllNamespaces }}{{ default .Release.Namespace .Values.operator.watchNamespace }}{{ end }}
{{- end }}

{{/* Namespace of the kubernetes runtime's Chains and key Secrets. */}}
{{- define "consortia.api.chainNamespace" -}}
{{- default .Release.Namespace .Values.apiServer.chainNamespace }}
{{- end }}

{{/* Whether the API server runs chains through the operator (and so calls the Kubernetes API). */}}
{{- define "consortia.api.onKubernetes" -}}
{{- if and .Values.apiServer.enabled (eq .Values.apiServer.runtime "kubernetes") }}true{{ end }}
{{- end }}

{{- define "consortia.api.validate" -}}
{{- $api := .Values.apiServer }}
{{- $chainNs := include "consortia.api.chainNamespace" . }}
{{- if and (ne $api.runtime "kubernetes") $api.chainNamespace }}
{{- fail "apiServer.chainNamespace is used by the kubernetes runtime only: set apiServer.runtime=kubernetes, or leave apiServer.chainNamespace empty" }}
{{- end }}
{{- $watched := include "consortia.operator.watchedNamespace" . }}
{{- if and .Values.operator.watchAllNamespaces .Values.operator.watchNamespace }}
{{- fail "operator.watchAllNamespaces=true watches every namespace: leave operator.watchNamespace empty" }}
{{- end }}
{{- if and (eq $api.runtime "kubernetes") $watched (ne $watched $chainNs) }}
{{- fail (printf "apiServer.runtime=kubernetes creates Chains in namespace %q, which the operator does not watch (it watches %q): set apiServer.chainNamespace and operator.watchNamespace to the same namespace" $chainNs $watched) }}
{{- end }}
{{- $postgres := not (empty $api.database.existingSecret) }}
{{- $keys := not (empty $api.keys.existingSecret) }}
{{- if and (gt (int $api.replicas) 1) (not $postgres) }}
{{- fail "apiServer.replicas > 1 needs PostgreSQL: set apiServer.database.existingSecret (SQLite lives in one pod's data directory and cannot be shared)" }}
{{- end }}
{{- if and (gt (int $api.replicas) 1) (not $keys) }}
{{- fail "apiServer.replicas > 1 needs shared keys: set apiServer.keys.existingSecret (every replica must use the same key-encryption and token keys)" }}
{{- end }}
{{- if and (gt (int $api.replicas) 1) $api.persistence.enabled (not $api.persistence.existingClaim) }}
{{- fail "apiServer.persistence creates one ReadWriteOnce volume, usable by one replica: with PostgreSQL and apiServer.keys.existingSecret set apiServer.persistence.enabled=false, or name a ReadWriteMany claim in apiServer.persistence.existingClaim" }}
{{- end }}
{{- if and (not $api.persistence.enabled) (not $postgres) }}
{{- fail "apiServer.persistence.enabled=false with SQLite would lose every tenant, chain and key at the next restart: set apiServer.database.existingSecret (PostgreSQL) or enable persistence" }}
{{- end }}
{{- if and (not $api.persistence.enabled) (not $keys) }}
{{- fail "apiServer.persistence.enabled=false without apiServer.keys.existingSecret would generate a new key-encryption key at every restart and make every sealed CA key unreadable: create the Secret (see the chart README) and set apiServer.keys.existingSecret" }}
{{- end }}
{{- if $api.oidc.enabled }}
{{- if not $api.oidc.issuer }}
{{- fail "apiServer.oidc.enabled needs apiServer.oidc.issuer (the identity provider's issuer URL)" }}
{{- end }}
{{- if not $api.oidc.clientId }}
{{- fail "apiServer.oidc.enabled needs apiServer.oidc.clientId (Consortia's client id at the provider)" }}
{{- end }}
{{- if and (not $api.publicUrl) (not $api.oidc.redirectUrl) (not (and $api.ingress.enabled $api.ingress.host)) }}
{{- fail "apiServer.oidc.enabled needs a browser-reachable address for the login callback: set apiServer.publicUrl, apiServer.ingress.host, or apiServer.oidc.redirectUrl" }}
{{- end }}
{{- end }}
{{- end }}
