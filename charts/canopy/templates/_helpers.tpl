{{/* Standard name helpers, as in the openfga and bitnami charts. */}}
{{- define "canopy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "canopy.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "canopy.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "canopy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "canopy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "canopy.labels" -}}
helm.sh/chart: {{ include "canopy.chart" . }}
{{ include "canopy.selectorLabels" . }}
app.kubernetes.io/version: {{ include "canopy.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: canopy
{{- end }}

{{- define "canopy.version" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "canopy.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "canopy.version" .) }}
{{- end }}

{{- define "canopy.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "canopy.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "canopy.authSecretName" -}}
{{- default (printf "%s-auth" (include "canopy.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{- define "canopy.dbClusterName" -}}
{{- printf "%s-db" (include "canopy.fullname" .) | trunc 50 | trimSuffix "-" }}
{{- end }}

{{- define "canopy.redisName" -}}
{{- printf "%s-redis" (include "canopy.fullname" .) | trunc 50 | trimSuffix "-" }}
{{- end }}

{{/*
Refusals the schema cannot express (relations between fields), with a message saying what to change.
*/}}
{{- define "canopy.validate" -}}
{{- $a := .Values.autoscaling }}
{{- if and $a.enabled (gt (int $a.minReplicas) (int $a.maxReplicas)) }}
{{- fail (printf "autoscaling.minReplicas (%v) must not exceed autoscaling.maxReplicas (%v)" $a.minReplicas $a.maxReplicas) }}
{{- end }}
{{- if and (eq .Values.database.mode "external") (not .Values.database.external.existingSecret) }}
{{- fail "database.mode=external needs database.external.existingSecret: a Secret whose key database.external.urlKey holds DATABASE_URL" }}
{{- end }}
{{- if and (eq .Values.redis.mode "external") (not .Values.redis.external.existingSecret) }}
{{- fail "redis.mode=external needs redis.external.existingSecret: a Secret whose key redis.external.key holds the Redis URL or cluster nodes" }}
{{- end }}
{{- if and .Values.auth.jwksUrl (not .Values.auth.existingSecret) }}
{{- fail "auth.jwksUrl needs auth.existingSecret holding the cursor secret (auth.cursorSecretKey) shared by every instance" }}
{{- end }}
{{- if and .Values.ingress.enabled .Values.ingress.tls.enabled (not .Values.ingress.tls.secretName) }}
{{- fail "ingress.tls.enabled needs ingress.tls.secretName" }}
{{- end }}
{{- end }}

{{/*
How the API reaches Postgres. "direct" (the migration Job) bypasses the pooler: migrations take
session-level locks that a transaction-mode pooler would not keep.
*/}}
{{- define "canopy.databaseEnv" -}}
{{- $direct := .direct }}
{{- with .root }}
{{- if eq .Values.database.mode "cnpg" }}
{{- $cluster := include "canopy.dbClusterName" . }}
{{- $host := printf "%s-rw" $cluster }}
{{- if and .Values.database.cnpg.pooler.enabled (not $direct) }}
{{- $host = printf "%s-pooler" $cluster }}
{{- end }}
- name: DB_USER
  valueFrom:
    secretKeyRef:
      name: {{ $cluster }}-app
      key: username
- name: DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $cluster }}-app
      key: password
- name: DATABASE_URL
  value: postgresql://$(DB_USER):$(DB_PASSWORD)@{{ $host }}:5432/canopy
{{- if and (gt (int .Values.database.cnpg.instances) 1) (not $direct) }}
- name: DATABASE_REPLICA_URLS
  value: postgresql://$(DB_USER):$(DB_PASSWORD)@{{ $cluster }}-ro:5432/canopy
{{- end }}
{{- else }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.external.existingSecret }}
      key: {{ .Values.database.external.urlKey }}
{{- if and .Values.database.external.replicaUrlsKey (not $direct) }}
- name: DATABASE_REPLICA_URLS
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.external.existingSecret }}
      key: {{ .Values.database.external.replicaUrlsKey }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The API's environment (services/api/src/config.ts); the operator's builders produce the same list. */}}
{{- define "canopy.env" -}}
{{- $c := .Values.config }}
- name: NODE_ENV
  value: production
- name: PORT
  value: "8080"
- name: LOG_LEVEL
  value: {{ $c.logLevel | quote }}
- name: DB_POOL_MAX
  value: {{ $c.dbPoolMax | quote }}
- name: SLOW_QUERY_MS
  value: {{ $c.slowQueryMs | quote }}
- name: CACHE_TTL_HIERARCHY_S
  value: {{ $c.cache.ttlHierarchySeconds | quote }}
- name: CACHE_TTL_PERMISSIONS_S
  value: {{ $c.cache.ttlPermissionsSeconds | quote }}
- name: CACHE_TTL_QUERY_S
  value: {{ $c.cache.ttlQuerySeconds | quote }}
- name: STALENESS_BOUND_MS
  value: {{ $c.cache.stalenessBoundMs | quote }}
- name: SHUTDOWN_TIMEOUT_MS
  value: {{ mul .Values.shutdown.drainTimeoutSeconds 1000 | quote }}
- name: AUTH_MODE
  value: jwt
{{- if .Values.auth.jwksUrl }}
- name: AUTH_JWKS_URL
  value: {{ .Values.auth.jwksUrl | quote }}
{{- else }}
- name: AUTH_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "canopy.authSecretName" . }}
      key: {{ .Values.auth.jwtSecretKey }}
{{- end }}
- name: CURSOR_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "canopy.authSecretName" . }}
      key: {{ .Values.auth.cursorSecretKey }}
      optional: {{ not .Values.auth.jwksUrl }}
{{- with .Values.auth.issuer }}
- name: AUTH_ISSUER
  value: {{ . | quote }}
{{- end }}
{{- with .Values.auth.audience }}
- name: AUTH_AUDIENCE
  value: {{ . | quote }}
{{- end }}
{{- include "canopy.databaseEnv" (dict "root" . "direct" false) }}
{{- if eq .Values.redis.mode "cluster" }}
- name: REDIS_CLUSTER_NODES
  value: {{ include "canopy.redisName" . }}-leader:6379
{{- else if eq .Values.redis.mode "external" }}
- name: {{ ternary "REDIS_CLUSTER_NODES" "REDIS_URL" .Values.redis.external.clusterNodes }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.external.existingSecret }}
      key: {{ .Values.redis.external.key }}
{{- end }}
{{- with $c.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "canopy.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "canopy.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end }}
