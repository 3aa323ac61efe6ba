{{/* Names of every resource, derived from the release name (one place, so references stay consistent). */}}
{{- define "mo.name" -}}{{ .Release.Name }}-manticore{{- end -}}
{{- define "mo.controllerName" -}}{{ .Release.Name }}-orchestrator{{- end -}}
{{- define "mo.backupName" -}}{{ .Release.Name }}-backup{{- end -}}
{{- define "mo.dataVolume" -}}{{ .Release.Name }}-manticore-vs{{- end -}}
{{- define "mo.sharedVolume" -}}{{ .Release.Name }}-manticore-vs-shared{{- end -}}
{{- define "mo.searchdConfigSecret" -}}{{ .Release.Name }}-manticore-config{{- end -}}
{{- define "mo.startSecret" -}}{{ .Release.Name }}-manticore-start{{- end -}}
{{- define "mo.tokenSecret" -}}{{ .Values.token.secretName }}{{- end -}}
{{- define "mo.credentialsSecret" -}}{{ .Release.Name }}-backup-credentials{{- end -}}
{{- define "mo.manticoreIdentity" -}}{{ .Release.Name }}-manticore-identity{{- end -}}
{{- define "mo.controllerIdentity" -}}{{ .Release.Name }}-orchestrator-identity{{- end -}}
{{- define "mo.backupIdentity" -}}{{ .Release.Name }}-backup-identity{{- end -}}
{{/* A table spec's secret: cpln names take no underscores. Called with (dict "root" $ "name" <table>). */}}
{{- define "mo.tableSecret" -}}{{ .root.Release.Name }}-table-{{ .name | replace "_" "-" | lower }}{{- end -}}
{{/* Link of an identity in this GVC. Called with (dict "root" $ "name" <identity>). */}}
{{- define "mo.identityLink" -}}/org/{{ .root.Values.global.cpln.org }}/gvc/{{ .root.Values.global.cpln.gvc }}/identity/{{ .name }}{{- end -}}
{{/* The controller's API inside the GVC (jobs hand restores to it). */}}
{{- define "mo.controllerUrl" -}}http://{{ .Release.Name }}-orchestrator.{{ .Values.global.cpln.gvc }}.cpln.local:8080{{- end -}}

{{/* Render-time checks: fail with the value to fix. */}}
{{- define "mo.validate" -}}
{{- if not .Values.token.secretName -}}{{- fail "token.secretName: name the opaque secret holding the API token" -}}{{- end -}}
{{- if and .Values.token.create (not .Values.token.value) -}}{{- fail "token.value: token.create is true: pass the token with --set token.value=<at least 16 characters>" -}}{{- end -}}
{{- if lt (int .Values.manticore.replicas) 1 -}}{{- fail "manticore.replicas: at least 1" -}}{{- end -}}
{{- if and .Values.backup.enabled (not .Values.backup.bucket) -}}{{- fail "backup.bucket: backup.enabled is true: name the bucket" -}}{{- end -}}
{{- if and .Values.backup.enabled (not (has .Values.backup.provider (list "aws" "gcp"))) -}}{{- fail "backup.provider: aws or gcp" -}}{{- end -}}
{{- end -}}
