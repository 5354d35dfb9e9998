{{/* The name of every object the chart makes. */}}
{{- define "vnfguard.fullname" -}}
{{- .Values.fullnameOverride | default "vnfguard" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vnfguard.labels" -}}
app.kubernetes.io/name: vnfguard
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "vnfguard.selector" -}}
app.kubernetes.io/name: vnfguard
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vnfguard.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* vnfguard's configuration: the user's, with apiVersion, kind and self filled in. */}}
{{- define "vnfguard.config" -}}
{{- $name := include "vnfguard.fullname" . -}}
{{- $self := dict "namespace" .Release.Namespace "serviceAccount" $name "workload" $name "image" (include "vnfguard.image" .) "webhookConfigurations" (list $name) "rbac" (list (printf "%s*" $name)) "registration" (dict "reapply" true) -}}
{{- $cfg := merge (dict "apiVersion" "vnfguard.io/v1alpha1" "kind" "Config" "self" $self) (deepCopy .Values.config) -}}
{{- if and .Values.inventory.configMap (not (hasKey $cfg "inventory")) -}}
{{- $_ := set $cfg "inventory" (dict "file" "/etc/vnfguard/inventory/inventory.yaml") -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* The protected namespaces that get the Secrets/ConfigMaps RoleBinding. */}}
{{- define "vnfguard.dataNamespaces" -}}
{{- $names := list -}}
{{- with .Values.config.protectedNamespaces -}}{{- $names = concat $names (.names | default list) -}}{{- end -}}
{{- $names = concat $names .Values.extraDataNamespaces | uniq | sortAlpha -}}
{{- toJson $names -}}
{{- end -}}

{{/* The source of the serving certificate: self (vnfguard's own Secrets) or certManager; tls.certManager=true, the
older switch, still selects cert-manager. */}}
{{- define "vnfguard.tlsMode" -}}
{{- if .Values.tls.certManager -}}certManager{{- else -}}{{ .Values.tls.mode }}{{- end -}}
{{- end }}
