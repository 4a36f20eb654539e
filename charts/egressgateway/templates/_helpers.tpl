{{/* Base name of every object. */}}
{{- define "egw.name" -}}
{{- .Values.global.name | default "egressgateway" | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "egw.labels" -}}
app.kubernetes.io/name: {{ include "egw.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.global.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of a component (controller or agent): dict "ctx" $ "component" "agent". */}}
{{- define "egw.selector" -}}
app.kubernetes.io/name: {{ include "egw.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "egw.annotations" -}}
{{- with .Values.global.commonAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Image reference of a component: dict "ctx" $ "image" .Values.agent.image. */}}
{{- define "egw.image" -}}
{{- $registry := .ctx.Values.global.imageRegistryOverride | default .image.registry -}}
{{- $tag := .ctx.Values.global.imageTagOverride | default .image.tag | default .ctx.Chart.AppVersion -}}
{{- if .image.digest -}}
{{ printf "%s/%s@%s" $registry .image.repository .image.digest }}
{{- else -}}
{{ printf "%s/%s:%s" $registry .image.repository $tag }}
{{- end -}}
{{- end -}}

{{- define "egw.agentServiceAccount" -}}
{{- .Values.agent.serviceAccount.name | default (printf "%s-agent" (include "egw.name" .)) -}}
{{- end -}}

{{- define "egw.controllerServiceAccount" -}}
{{- .Values.controller.serviceAccount.name | default (printf "%s-controller" (include "egw.name" .)) -}}
{{- end -}}

{{/* The apps print JSON (their images carry no pretty printer); upstream's console means the same here. */}}
{{- define "egw.logFormat" -}}
json
{{- end -}}
