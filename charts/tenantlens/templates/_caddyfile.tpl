{{/*
The Caddyfile. Formatted as `caddy fmt` prints it (tabs), so Caddy logs no formatting warning;
a chart test checks that.

Metrics syntax depends on the Caddy version (caddy.metrics.legacySyntax):
  Caddy >= 2.9 (the pinned image): global option `metrics { per_host }`; labels server, handler,
    code, method and host.
  Caddy < 2.9 (e.g. Debian's 2.6, used by the chart tests): `servers { metrics }`; no per_host,
    so no host label. Everything else in this file is the same for both.
*/}}
{{- define "tenantlens.caddyfile" -}}
{{- $c := .Values.caddy -}}
{{- $tls := $c.tls.mode -}}
{{- $probe := $c.service.azureHealthProbe.path -}}
# Rendered by the tenantlens chart ({{ .Chart.Name }}-{{ .Chart.Version }}) for Caddy {{ if $c.metrics.legacySyntax }}< 2.9{{ else }}>= 2.9{{ end }}.
{
	# The admin API can replace the whole config: reachable only from inside the pod.
	admin 127.0.0.1:{{ $c.adminPort }}
	# Unprivileged ports (the container runs as non-root); the Service
	# maps 80 and 443 onto them.
	http_port {{ $c.ports.http }}
	https_port {{ $c.ports.https }}
{{- with $c.bind }}
	default_bind {{ . }}
{{- end }}
{{- if eq $tls "auto" }}
{{- with $c.tls.email }}
	email {{ . }}
{{- end }}
{{- with $c.tls.acmeCA }}
	acme_ca {{ . }}
{{- end }}
{{- end }}
{{- if eq $tls "internal" }}
	# Caddy's local CA: never try to add its root to a system trust store.
	skip_install_trust
{{- end }}
{{- if ne $tls "off" }}
	# Clients that send no SNI (e.g. by IP) get the first host's certificate.
	default_sni {{ first $c.hosts }}
{{- end }}
	# On SIGTERM, let in-flight OTLP requests finish.
	grace_period 10s
{{- $h2c := and (eq $tls "off") .Values.gateway.grpc.enabled }}
{{- if $c.metrics.legacySyntax }}
	servers {
		metrics
{{- if $h2c }}
		# Without TLS, gRPC clients speak HTTP/2 in cleartext (h2c).
		protocols h1 h2 h2c
{{- end }}
	}
{{- else }}
	metrics{{ if $c.metrics.perHost }} {
		per_host
	}{{ end }}
{{- if $h2c }}
	# Without TLS, gRPC clients speak HTTP/2 in cleartext (h2c).
	servers {
		protocols h1 h2 h2c
	}
{{- end }}
{{- end }}
}

# Internal listener, not in the LoadBalancer Service: Prometheus metrics for Telegraf and the
# kubelet's probes.
http://:{{ $c.ports.metrics }} {
	metrics /metrics
	respond /healthz 200
}
{{- if eq $tls "off" }}

{{ include "tenantlens.caddy.siteAddresses" (dict "hosts" $c.hosts "scheme" "http://") }} {
{{- include "tenantlens.caddy.siteBody" . }}
}
{{- else }}

# Plain HTTP: the load balancer's health probe, ACME HTTP challenges (Caddy answers those
# before any route), and a redirect to HTTPS on the public port 443.
http:// {
	handle {{ $probe }} {
		respond 200
	}
	handle {
		redir https://{host}{uri} 308
	}
}

{{ include "tenantlens.caddy.siteAddresses" (dict "hosts" $c.hosts "scheme" "") }} {
{{- if eq $tls "secret" }}
	tls /etc/caddy-tls/tls.crt /etc/caddy-tls/tls.key
{{- else if eq $tls "internal" }}
	tls internal
{{- end }}
{{- include "tenantlens.caddy.siteBody" . }}
}
{{- end }}
{{ end }}

{{- define "tenantlens.caddy.siteAddresses" -}}
{{- if .hosts }}
{{- $out := list }}
{{- range .hosts }}{{ $out = append $out (printf "%s%s" $.scheme .) }}{{ end }}
{{- join ", " $out }}
{{- else }}
{{- .scheme }}
{{- end }}
{{- end }}

{{- define "tenantlens.caddy.siteBody" }}
{{- $c := .Values.caddy }}
{{- $header := .Values.gateway.tenantAuth.header }}
{{- $headerMode := eq .Values.gateway.tenantAuth.mode "header" }}
{{- $fa := $c.tenantHeader.forwardAuth }}
{{- if $c.accessLogs }}
	log {
		output stdout
		format json
	}
{{- end }}
	# The gateway trusts this header in header mode, so no client copy may pass, to any upstream.
	request_header -{{ $header }}
	handle {{ $c.service.azureHealthProbe.path }} {
		respond 200
	}
	# OTLP/HTTP (/v1/traces, /v1/telemetry), the gateway's API{{ if .Values.console.enabled }} and the console's own
	# telemetry (/console/v1/traces): credentialed requests, tenant header as for OTLP{{ end }}.
	@gateway path /v1/* /api/*{{ if .Values.console.enabled }} /console/v1/*{{ end }}
	handle @gateway {
{{- include "tenantlens.caddy.toGateway" (dict "ctx" . "upstream" (include "tenantlens.gateway.upstream" .)) }}
	}
{{- if .Values.gateway.grpc.enabled }}
	# OTLP/gRPC (the collector's Export services): to the gateway's gRPC port over h2c, with the
	# same tenant header handling. gRPC metadata travels as HTTP/2 headers, so the strip above and
	# the header set here apply to it too.
	@grpc {
		protocol grpc
		path /opentelemetry.proto.collector.*
	}
	handle @grpc {
{{- include "tenantlens.caddy.toGateway" (dict "ctx" . "upstream" (include "tenantlens.gateway.grpcUpstream" .)) }}
	}
{{- end }}
{{- if .Values.console.enabled }}
	# The console's static files (index.html, hashed assets), same origin as /api/. A page load
	# carries no credential, so the auth service is not asked and no tenant header is set (the
	# client's was stripped above): the console sends its token with each /api/ call instead.
	@console {
		path /console /console/*
		not path /console/v1/*
	}
	handle @console {
		reverse_proxy {{ include "tenantlens.gateway.upstream" . }}
	}
{{- end }}
	handle {
{{- if $c.appUpstream }}
{{- if $c.tracing.enabled }}
		# The trace starts here: Caddy's span, exported with the infrastructure credential, and
		# `traceparent` forwarded so the app's server span is its child (docs/ingress-spans.md).
		tracing {
			span {{ $c.tracing.spanName }}
		}
{{- end }}
		reverse_proxy {{ $c.appUpstream }}
{{- else }}
		respond "Not found" 404
{{- end }}
	}
{{- end }}

{{- define "tenantlens.caddy.toGateway" }}
{{- $c := .ctx.Values.caddy }}
{{- $header := .ctx.Values.gateway.tenantAuth.header }}
{{- $headerMode := eq .ctx.Values.gateway.tenantAuth.mode "header" }}
{{- $fa := $c.tenantHeader.forwardAuth }}
{{- if and $headerMode $fa.url }}
		# The auth service authenticates the request; on 2xx its {{ $fa.responseHeader }} header becomes
		# the tenant header, otherwise its response goes back to the client.
		forward_auth {{ $fa.url }} {
			uri {{ $fa.uri }}
			copy_headers {{ $fa.responseHeader }}>{{ $header }}
		}
{{- end }}
{{- if and $headerMode $c.tenantHeader.value }}
		reverse_proxy {{ .upstream }} {
			# Overwrites (never appends to) the header.
			header_up {{ $header }} {{ $c.tenantHeader.value | quote }}
		}
{{- else }}
		reverse_proxy {{ .upstream }}
{{- end }}
{{- end }}
