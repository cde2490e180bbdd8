{{- define "canopy-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "canopy-operator.fullname" -}}
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

{{- define "canopy-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "canopy-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "canopy-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "canopy-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ default .Chart.AppVersion .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: canopy
{{- end }}

{{- define "canopy-operator.serviceAccountName" -}}
{{- default (include "canopy-operator.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{/*
What the operator does to the objects it manages, and nothing more. The e2e suite checks every
request the operator makes against these rules, and that every rule is used.
*/}}
{{- define "canopy-operator.rules" -}}
- apiGroups: ["canopy.dev"]
  resources: ["canopyclusters"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["canopy.dev"]
  resources: ["canopyclusters/status"]
  verbs: ["patch"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["list", "watch", "create", "patch"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["list", "watch", "create", "patch"]
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["create", "patch"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["create", "patch", "delete"]
- apiGroups: [""]
  # Only to create the generated auth Secret once; the operator never reads Secrets.
  resources: ["secrets"]
  verbs: ["create"]
- apiGroups: [""]
  # A failed migration is also reported as an Event on the CanopyCluster.
  resources: ["events"]
  verbs: ["create"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["create", "patch"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["create", "patch"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["create", "patch", "delete"]
- apiGroups: ["postgresql.cnpg.io"]
  resources: ["clusters"]
  verbs: ["list", "watch", "create", "patch"]
- apiGroups: ["postgresql.cnpg.io"]
  resources: ["poolers"]
  verbs: ["create", "patch", "delete"]
- apiGroups: ["redis.redis.opstreelabs.in"]
  resources: ["redisclusters"]
  verbs: ["create", "patch", "delete"]
- apiGroups: ["monitoring.coreos.com"]
  resources: ["servicemonitors", "prometheusrules"]
  verbs: ["create", "patch", "delete"]
{{- end }}
