{{/*
telegraf.conf. TOML strings are written with toJson: a JSON string is a valid TOML basic string.

What lands in InfluxDB (README "caddy_http_requests"; the dashboard queries these names):
  caddy_http_requests  one row per Caddy (instance, server, handler, method, status_code[, host])
                       with fields count and duration_seconds_sum, plus one row per histogram
                       bucket (tag le) with field duration_seconds_bucket. Values are cumulative
                       counters (floats), as Caddy exposes them.
  prometheus           every gateway metric: field = metric name (tenantlens_*), tags = its
                       labels + instance.
*/}}
{{- define "tenantlens.telegrafConf" -}}
{{- $t := .Values.telegraf -}}
{{- $ns := .Release.Namespace -}}
{{- $caddyRequests := list "caddy_http_request_duration_seconds_count" "caddy_http_request_duration_seconds_sum" "caddy_http_request_duration_seconds_bucket" -}}
# Rendered by the tenantlens chart ({{ .Chart.Name }}-{{ .Chart.Version }}) for Telegraf >= 1.29.
[agent]
  interval = {{ $t.interval | toJson }}
  round_interval = true
  metric_batch_size = 1000
  # Per output: while InfluxDB is unreachable the oldest metrics beyond this are dropped.
  metric_buffer_limit = {{ $t.metricBufferLimit }}
  collection_jitter = "0s"
  flush_interval = {{ $t.flushInterval | toJson }}
  flush_jitter = "2s"
  # Pod names change on every rollout; a host tag would only multiply series.
  omit_hostname = true
{{- if .Values.caddy.enabled }}

# Caddy: only its request-duration histogram. It is the family with code and method labels
# (caddy_http_requests_total has only server and handler) and it carries the request count.
# kubernetes_services resolves the headless Service to every pod and adds tag `address`
# (the pod IP) next to `url`.
[[inputs.prometheus]]
  alias = "caddy"
  kubernetes_services = [{{ printf "http://%s.%s.svc.cluster.local:%v/metrics" (include "tenantlens.componentName" (dict "ctx" . "component" "caddy-metrics")) $ns .Values.caddy.ports.metrics | toJson }}]
  metric_version = 2
  timeout = "5s"
  fieldinclude = {{ $caddyRequests | toJson }}
  # Marks these metrics for the routing processor below; removed there.
  [inputs.prometheus.tags]
    tenantlens_route = "caddy_http_requests"
{{- end }}

# The gateway's prom-client metrics (tenantlens_*, process and Node.js runtime).
[[inputs.prometheus]]
  alias = "gateway"
  kubernetes_services = [{{ printf "http://%s.%s.svc.cluster.local:%v/metrics" (include "tenantlens.componentName" (dict "ctx" . "component" "gateway-metrics")) $ns .Values.gateway.port | toJson }}]
  metric_version = 2
  timeout = "5s"
{{- if .Values.caddy.enabled }}

# Routes Caddy's request metrics out of the generic "prometheus" measurement into
# caddy_http_requests, with the field and tag names the dashboard queries.
[[processors.rename]]
  order = 1
  namepass = ["prometheus"]
  tagexclude = ["tenantlens_route"]
  [processors.rename.tagpass]
    tenantlens_route = ["caddy_http_requests"]
  [[processors.rename.replace]]
    measurement = "prometheus"
    dest = "caddy_http_requests"
  [[processors.rename.replace]]
    field = "caddy_http_request_duration_seconds_count"
    dest = "count"
  [[processors.rename.replace]]
    field = "caddy_http_request_duration_seconds_sum"
    dest = "duration_seconds_sum"
  [[processors.rename.replace]]
    field = "caddy_http_request_duration_seconds_bucket"
    dest = "duration_seconds_bucket"
  [[processors.rename.replace]]
    tag = "code"
    dest = "status_code"
{{- end }}

# Both inputs: the scraped pod becomes tag `instance`; the Service URL (the same for every pod)
# is dropped.
[[processors.rename]]
  order = 2
  namepass = ["prometheus", "caddy_http_requests"]
  tagexclude = ["url"]
  [[processors.rename.replace]]
    tag = "address"
    dest = "instance"

{{- if eq (int .Values.influx.apiVersion) 1 }}
{{- $db := splitList "/" (default .Values.influx.bucket $t.bucket) }}

# InfluxDB 1.x: the /write API, database[/retention_policy] from the bucket. Credentials are
# environment references to the Secrets (basic auth, else a token header).
[[outputs.influxdb]]
  urls = [{{ include "tenantlens.influx.url" . | toJson }}]
  database = {{ first $db | toJson }}
  {{- if gt (len $db) 1 }}
  retention_policy = {{ last $db | toJson }}
  {{- end }}
  # The database is the gateway's too; it must exist, and a writer need not be an admin.
  skip_database_creation = true
  {{- if .Values.influx.basicAuth.existingSecret }}
  username = "${INFLUX_USERNAME}"
  password = "${INFLUX_PASSWORD}"
  {{- else }}
  http_headers = {"Authorization" = "Token ${INFLUX_TOKEN}"}
  {{- end }}
  timeout = "10s"
  content_encoding = "gzip"
{{- else }}

[[outputs.influxdb_v2]]
  urls = [{{ include "tenantlens.influx.url" . | toJson }}]
  # Telegraf substitutes environment variables; INFLUX_TOKEN comes from the Secret.
  token = "${INFLUX_TOKEN}"
  organization = {{ include "tenantlens.influx.org" . | toJson }}
  bucket = {{ default .Values.influx.bucket $t.bucket | toJson }}
  timeout = "10s"
  content_encoding = "gzip"
{{- end }}

# Liveness endpoint for the kubelet.
[[outputs.health]]
  service_address = {{ printf "http://:%v" $t.healthPort | toJson }}
{{ end }}
