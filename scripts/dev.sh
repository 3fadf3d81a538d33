#!/usr/bin/env bash
# `npm run dev`: the gateway on :4318 with a local InfluxDB 1.x, for trying Tenantlens out.
# Uses INFLUX_URL if you set one; otherwise starts Debian's influxd on 127.0.0.1:8086 with its
# data under ./data/influxdb (kept across runs) and stops it again on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${INFLUX_URL:-}" ]; then
  if ! command -v influxd >/dev/null; then
    echo "dev: influxd not found. Install it with: sudo apt-get update && sudo apt-get install -y influxdb" >&2
    echo "     (or point INFLUX_URL at an InfluxDB you already run)" >&2
    exit 1
  fi
  data="$PWD/data/influxdb"
  mkdir -p "$data"
  cat > "$data/influxdb.conf" <<CONF
reporting-enabled = false
bind-address = "127.0.0.1:8088"
[meta]
  dir = "$data/meta"
[data]
  dir = "$data/data"
  wal-dir = "$data/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:8086"
  log-enabled = false
[monitor]
  store-enabled = false
CONF
  echo "dev: starting influxd on 127.0.0.1:8086 (data in $data)"
  influxd run -config "$data/influxdb.conf" >"$data/influxd.log" 2>&1 &
  influx_pid=$!
  trap 'kill $influx_pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null http://127.0.0.1:8086/ping 2>/dev/null && break
    kill -0 $influx_pid 2>/dev/null || { echo "dev: influxd failed to start; see $data/influxd.log" >&2; tail -5 "$data/influxd.log" >&2; exit 1; }
    sleep 0.1
  done
  curl -fsS -XPOST http://127.0.0.1:8086/query --data-urlencode 'q=CREATE DATABASE "tenantlens"' >/dev/null
  export INFLUX_URL=http://127.0.0.1:8086 INFLUX_API_VERSION=1 INFLUX_BUCKET=tenantlens
fi
export TENANT_AUTH="${TENANT_AUTH:-header}" HOST="${HOST:-127.0.0.1}"
npm run --silent gateway
