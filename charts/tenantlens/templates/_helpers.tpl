{{/*
Chart name, truncated to the 63 characters a label value allows.
*/}}
{{- define "tenantlens.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: "<release>-<chart>", or the release name when it already contains the chart name.
Component objects append "-gateway", "-caddy", … so the prefix is cut to leave room for them.
*/}}
{{- define "tenantlens.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 45 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
"<fullname>-<component>". Call with (dict "ctx" $ "component" "gateway").
*/}}
{{- define "tenantlens.componentName" -}}
{{- printf "%s-%s" (include "tenantlens.fullname" .ctx) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tenantlens.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Kubernetes recommended labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/).
Call with (dict "ctx" $ "component" "gateway").
*/}}
{{- define "tenantlens.labels" -}}
helm.sh/chart: {{ include "tenantlens.chart" .ctx }}
{{ include "tenantlens.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: tenantlens
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels: immutable in a Deployment, so only name, instance and component.
*/}}
{{- define "tenantlens.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tenantlens.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "tenantlens.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tenantlens.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
"repository:tag" for an image block; tag defaults to the chart's appVersion.
Call with (dict "image" .Values.gateway.image "ctx" $).
*/}}
{{- define "tenantlens.image" -}}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) }}
{{- end }}

{{/*
The upstream influxdb2 chart's full name, computed exactly as its "influxdb.fullname" helper
does (charts/influxdb2/templates/_helpers.tpl), from the values it receives under influxdb2.
*/}}
{{- define "tenantlens.influxdb2.fullname" -}}
{{- $v := .Values.influxdb2 }}
{{- if $v.fullnameOverride }}
{{- $v.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default "influxdb2" $v.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
InfluxDB URL: influx.url, or the in-cluster influxdb2 Service (upstream default port 80).
*/}}
{{- define "tenantlens.influx.url" -}}
{{- if .Values.influx.url }}
{{- .Values.influx.url | trimSuffix "/" }}
{{- else if .Values.influxdb2.enabled }}
{{- printf "http://%s.%s.svc.cluster.local:%v" (include "tenantlens.influxdb2.fullname" .) .Release.Namespace (dig "service" "port" 80 .Values.influxdb2) }}
{{- end }}
{{- end }}

{{- define "tenantlens.influx.org" -}}
{{- if .Values.influx.org }}
{{- .Values.influx.org }}
{{- else if .Values.influxdb2.enabled }}
{{- dig "adminUser" "organization" "" .Values.influxdb2 }}
{{- end }}
{{- end }}

{{/*
Secret and key holding the InfluxDB token, in this order: influx.existingSecret; the Secret the
chart creates from influx.token; the in-cluster influxdb2's admin token Secret.
*/}}
{{- define "tenantlens.influx.tokenSecretName" -}}
{{- if .Values.influx.existingSecret }}
{{- .Values.influx.existingSecret }}
{{- else if .Values.influx.token }}
{{- include "tenantlens.componentName" (dict "ctx" . "component" "influx") }}
{{- else if .Values.influxdb2.enabled }}
{{- $existing := dig "adminUser" "existingSecret" "" .Values.influxdb2 }}
{{- default (printf "%s-auth" (include "tenantlens.influxdb2.fullname" .)) $existing }}
{{- end }}
{{- end }}

{{- define "tenantlens.influx.tokenSecretKey" -}}
{{- if or .Values.influx.existingSecret .Values.influx.token }}
{{- .Values.influx.existingSecretKey }}
{{- else }}
{{- "admin-token" }}
{{- end }}
{{- end }}

{{/*
True (non-empty) when the chart itself creates the token Secret.
*/}}
{{- define "tenantlens.influx.createSecret" -}}
{{- if and (not .Values.influx.existingSecret) .Values.influx.token }}true{{ end }}
{{- end }}

{{/*
InfluxDB credentials as container env entries, all from Secrets: INFLUX_TOKEN when there is a token
Secret, INFLUX_USERNAME and INFLUX_PASSWORD with influx.basicAuth (apiVersion 1). One definition
for the gateway, the alerts evaluator and Telegraf, so the three always authenticate alike.
*/}}
{{- define "tenantlens.influx.credentialEnv" -}}
{{- with include "tenantlens.influx.tokenSecretName" . }}
- name: INFLUX_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ include "tenantlens.influx.tokenSecretKey" $ }}
{{- end }}
{{- with .Values.influx.basicAuth.existingSecret }}
- name: INFLUX_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.influx.basicAuth.usernameKey }}
- name: INFLUX_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.influx.basicAuth.passwordKey }}
{{- end }}
{{- end }}

{{- define "tenantlens.gateway.upstream" -}}
{{- default (printf "%s:%v" (include "tenantlens.componentName" (dict "ctx" . "component" "gateway")) .Values.gateway.port) .Values.caddy.gatewayUpstream }}
{{- end }}

{{/*
The gateway's OTLP/gRPC address for Caddy: HTTP/2 in cleartext (h2c), as gRPC needs end to end.
*/}}
{{- define "tenantlens.gateway.grpcUpstream" -}}
h2c://{{ default (printf "%s:%v" (include "tenantlens.componentName" (dict "ctx" . "component" "gateway")) .Values.gateway.grpc.port) .Values.caddy.gatewayGrpcUpstream }}
{{- end }}

{{/*
Bytes in a Kubernetes quantity, as an integer string. Only the forms the values schema admits:
digits with an optional binary (Ki…Pi) or decimal (k…P) suffix, e.g. "2Gi" -> "2147483648".
*/}}
{{- define "tenantlens.quantityBytes" -}}
{{- $units := dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "Pi" 1125899906842624 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "P" 1000000000000000 }}
{{- $q := toString . }}
{{- if not (regexMatch "^[0-9]+(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$" $q) }}
{{- fail (printf "%q is not a quantity this chart can check (digits with an optional Ki, Mi, Gi, Ti, Pi, k, M, G, T or P suffix)" $q) }}
{{- end }}
{{- mul (int64 (regexFind "^[0-9]+" $q)) (index $units (regexReplaceAll "^[0-9]+" $q "")) }}
{{- end }}

{{/*
Gateway worker count for sizing, as an integer; "auto" cannot be known at render time and is 0.
*/}}
{{- define "tenantlens.gateway.workerCount" -}}
{{- if eq (toString .Values.gateway.workers) "auto" }}0{{ else }}{{ int64 .Values.gateway.workers }}{{ end }}
{{- end }}

{{/*
Cross-field checks the JSON schema cannot express with a readable message. Included by the
gateway ConfigMap, so every render runs them.
*/}}
{{/* "true" when the gateway's spool lives on a PersistentVolumeClaim per pod (a StatefulSet), else "". */}}
{{- define "tenantlens.gateway.spoolClaim" -}}
{{- if and .Values.gateway.spool.enabled .Values.gateway.spool.persistence.enabled }}true{{ end }}
{{- end }}

{{- define "tenantlens.validate" -}}
{{- $tr := .Values.caddy.tracing }}
{{- if and $tr.enabled (not $tr.existingSecret) }}
{{- fail "caddy.tracing.enabled needs caddy.tracing.existingSecret: a Secret with the infrastructure token (INFRA_TOKEN) that Caddy exports its spans with" }}
{{- end }}
{{- if and $tr.enabled (eq $tr.protocol "grpc") (not .Values.gateway.grpc.enabled) }}
{{- fail "caddy.tracing.protocol=grpc needs gateway.grpc.enabled (or set caddy.tracing.protocol=http/protobuf)" }}
{{- end }}
{{- $spool := .Values.gateway.spool }}
{{- if $spool.enabled }}
{{- if not (include "tenantlens.influx.url" .) }}
{{- fail "gateway.spool.enabled needs InfluxDB: the spool holds writes on their way to InfluxDB (SPOOL_DIR requires INFLUX_URL). Set influx.url, or influxdb2.enabled=true" }}
{{- end }}
{{- if gt (int64 $spool.segmentBytes) (int64 $spool.maxBytes) }}
{{- fail (printf "gateway.spool.segmentBytes (%d) must not exceed gateway.spool.maxBytes (%d)" (int64 $spool.segmentBytes) (int64 $spool.maxBytes)) }}
{{- end }}
{{- $workers := int64 (include "tenantlens.gateway.workerCount" .) }}
{{- if eq $workers 0 }}
{{- fail "gateway.workers=auto with gateway.spool.enabled: every worker has its own spool of up to spool.maxBytes, so the emptyDir must hold workers × (maxBytes + segmentBytes), which cannot be checked for \"auto\". Set gateway.workers to the pod's CPU count" }}
{{- end }}
{{- $need := mul $workers (add (int64 $spool.maxBytes) (int64 $spool.segmentBytes)) }}
{{- if $spool.persistence.enabled }}
{{- $have := int64 (include "tenantlens.quantityBytes" $spool.persistence.size) }}
{{- if lt $have $need }}
{{- fail (printf "gateway.spool.persistence.size (%s = %d bytes) must hold gateway.workers (%d) × (spool.maxBytes %d + spool.segmentBytes %d) = %d bytes: a full claim fails the spool's writes (503s). Raise size or lower spool.maxBytes" (toString $spool.persistence.size) $have $workers (int64 $spool.maxBytes) (int64 $spool.segmentBytes) $need) }}
{{- end }}
{{- else }}
{{- $have := int64 (include "tenantlens.quantityBytes" $spool.volume.sizeLimit) }}
{{- if lt $have $need }}
{{- fail (printf "gateway.spool.volume.sizeLimit (%s = %d bytes) must hold gateway.workers (%d) × (spool.maxBytes %d + spool.segmentBytes %d) = %d bytes: above its sizeLimit the kubelet evicts the pod and the spool is deleted. Raise sizeLimit or lower spool.maxBytes" (toString $spool.volume.sizeLimit) $have $workers (int64 $spool.maxBytes) (int64 $spool.segmentBytes) $need) }}
{{- end }}
{{- end }}
{{- else if $spool.persistence.enabled }}
{{- fail "gateway.spool.persistence.enabled needs gateway.spool.enabled: the claim holds the spool" }}
{{- end }}
{{- if not (include "tenantlens.influx.url" .) }}
{{- fail "influx.url is required (your InfluxDB 2/3 or Cloud URL), or set influxdb2.enabled=true for an in-cluster InfluxDB" }}
{{- end }}
{{- $v1 := eq (int .Values.influx.apiVersion) 1 }}
{{- if and .Values.influx.basicAuth.existingSecret (not $v1) }}
{{- fail (printf "influx.basicAuth is InfluxDB 1.x basic auth: it needs influx.apiVersion=1 (have %v); versions 2 and 3 take a token" .Values.influx.apiVersion) }}
{{- end }}
{{- if and $v1 .Values.influxdb2.enabled }}
{{- fail "influx.apiVersion=1 with influxdb2.enabled: the in-cluster InfluxDB is 2.x; use apiVersion 2" }}
{{- end }}
{{- if not (or (include "tenantlens.influx.tokenSecretName" .) (and $v1 .Values.influx.basicAuth.existingSecret)) }}
{{- fail (ternary "InfluxDB 1.x credentials are required: set influx.basicAuth.existingSecret (username and password), or a token with influx.existingSecret or influx.token" "an InfluxDB token is required: set influx.existingSecret (recommended) or influx.token, or set influxdb2.enabled=true" $v1) }}
{{- end }}
{{- if $v1 }}
{{- $parts := splitList "/" .Values.influx.bucket }}
{{- if or (gt (len $parts) 2) (has "" $parts) }}
{{- fail (printf "influx.bucket for influx.apiVersion=1 must be \"database\" or \"database/retention_policy\", got %q" .Values.influx.bucket) }}
{{- end }}
{{- end }}
{{- if and (eq (int .Values.influx.apiVersion) 2) (not (include "tenantlens.influx.org" .)) }}
{{- fail "influx.org is required with influx.apiVersion=2" }}
{{- end }}
{{- if eq .Values.gateway.tenantAuth.mode "jwt" }}
{{- $jwt := .Values.gateway.tenantAuth.jwt }}
{{- $keys := 0 }}
{{- range (list $jwt.jwksUrl $jwt.publicKey $jwt.existingSecret) }}{{ if . }}{{ $keys = add1 $keys }}{{ end }}{{ end }}
{{- if ne (int $keys) 1 }}
{{- fail (printf "gateway.tenantAuth.mode=jwt needs exactly one of gateway.tenantAuth.jwt.jwksUrl, .publicKey or .existingSecret (%d set)" (int $keys)) }}
{{- end }}
{{- end }}
{{- if and .Values.caddy.enabled (eq .Values.gateway.tenantAuth.mode "header") (not .Values.caddy.tenantHeader.value) (not .Values.caddy.tenantHeader.forwardAuth.url) }}
{{- fail "gateway.tenantAuth.mode=header: Caddy must know the tenant. Set caddy.tenantHeader.forwardAuth.url (an auth service that answers with the tenant header) or caddy.tenantHeader.value (a Caddy placeholder)" }}
{{- end }}
{{- if and .Values.caddy.enabled .Values.caddy.tenantHeader.value .Values.caddy.tenantHeader.forwardAuth.url }}
{{- fail "set caddy.tenantHeader.value or caddy.tenantHeader.forwardAuth.url, not both: the tenant must have one source" }}
{{- end }}
{{- if and .Values.caddy.enabled (ne .Values.caddy.tls.mode "off") (not .Values.caddy.hosts) }}
{{- fail (printf "caddy.tls.mode=%s needs caddy.hosts: the DNS names the certificate is for" .Values.caddy.tls.mode) }}
{{- end }}
{{- if and .Values.caddy.enabled (eq .Values.caddy.tls.mode "auto") .Values.caddy.persistence.enabled (gt (int .Values.caddy.replicaCount) 1) }}
{{- fail "caddy.replicaCount > 1 with tls.mode=auto and persistence: the certificate volume is ReadWriteOnce. Use tls.mode=secret to scale Caddy" }}
{{- end }}
{{- $gw := .Values.gateway }}
{{- if $gw.pdb.enabled }}
{{- $least := ternary $gw.autoscaling.minReplicas $gw.replicaCount $gw.autoscaling.enabled }}
{{- if ge (int $gw.pdb.minAvailable) (int $least) }}
{{- fail (printf "gateway.pdb.minAvailable (%d) must be below the gateway's replica count (%d), or no node could ever be drained" (int $gw.pdb.minAvailable) (int $least)) }}
{{- end }}
{{- end }}
{{- if and .Values.caddy.enabled (eq .Values.caddy.tls.mode "secret") (not .Values.caddy.tls.secretName) }}
{{- fail "caddy.tls.mode=secret needs caddy.tls.secretName (a kubernetes.io/tls Secret)" }}
{{- end }}
{{- if and (gt (int64 $gw.tenantRateLimit.burst) 0) (eq (int64 $gw.tenantRateLimit.spansPerSecond) 0) }}
{{- fail "gateway.tenantRateLimit.burst needs gateway.tenantRateLimit.spansPerSecond (TENANT_RATE_BURST needs TENANT_RATE_LIMIT)" }}
{{- end }}
{{- if and $gw.cardinality.tags (eq (int64 $gw.cardinality.limit) 0) }}
{{- fail "gateway.cardinality.tags needs gateway.cardinality.limit (CARDINALITY_TAGS needs CARDINALITY_LIMIT)" }}
{{- end }}
{{- $al := .Values.alerts }}
{{- if gt (float64 $al.resolveRatio) (float64 $al.ratio) }}
{{- fail (printf "alerts.resolveRatio (%v) must not exceed alerts.ratio (%v): resolving must take a lower P99 than firing" $al.resolveRatio $al.ratio) }}
{{- end }}
{{- if gt (int $al.baselineMinWindows) (int $al.baselineWindows) }}
{{- fail (printf "alerts.baselineMinWindows (%d) must not exceed alerts.baselineWindows (%d)" (int $al.baselineMinWindows) (int $al.baselineWindows)) }}
{{- end }}
{{- if and .Values.caddy.metrics.legacySyntax .Values.caddy.metrics.perHost }}
{{- fail "caddy.metrics.perHost needs Caddy >= 2.9 (global metrics option); set it to false with caddy.metrics.legacySyntax" }}
{{- end }}
{{- end }}

{{/*
The console's public URL, ending in "/": console.publicUrl, else derived from Caddy's first host
(https, or http with tls.mode=off). Empty when the console is off or no URL can be known (no
Caddy, or Caddy for any host): nothing then links to it.
*/}}
{{- define "tenantlens.console.url" -}}
{{- $c := .Values.caddy }}
{{- if .Values.console.enabled }}
{{- if .Values.console.publicUrl }}
{{- printf "%s/" (.Values.console.publicUrl | trimSuffix "/") }}
{{- else if and $c.enabled $c.hosts }}
{{- printf "%s://%s/console/" (ternary "http" "https" (eq $c.tls.mode "off")) (first $c.hosts) }}
{{- end }}
{{- end }}
{{- end }}
