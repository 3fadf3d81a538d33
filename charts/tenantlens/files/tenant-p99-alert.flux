// Tenantlens: per-tenant P99 alerts as an InfluxDB 2.x task (the server-side twin of the
// gateway's alert evaluator; see the chart README, "Alerts as a Flux task").
//
//   influx task create --org <org> --file tenant-p99-alert.flux
//
// Every 5 minutes, for each tenant and endpoint of backend_api_latency: the P99 of the window
// that just ended is compared with the baseline, the median of the P99s of the previous 12
// windows that had at least minSamples requests. It fires above max(baseline x ratio,
// baseline + floorMs) with at least minSamples requests, and resolves below baseline x
// resolveRatio (hysteresis: between the two, the previous state holds). Each run writes one
// point per tenant and endpoint to the measurement "tenantlens_alerts" (fields firing, p99_ms,
// baseline_ms, threshold_ms, count), and POSTs the transitions to webhookURL when it is set.
// Differences from the gateway: windows are aligned on the clock (the task runs at their end),
// and the baseline is not frozen while an alert fires.
import "date"
import "http"
import "join"
import "json"

option task = {name: "tenantlens-tenant-p99-alert", every: 5m, offset: 30s}

bucket = "tenantlens"
measurement = "backend_api_latency"
field = "latency_ms"
// window x (baselineWindows + 1): Flux cannot multiply durations.
lookback = 65m
window = 5m
ratio = 1.5
floorMs = 200.0
resolveRatio = 1.2
minSamples = 20
minBaselineWindows = 3
webhookURL = ""

stop = now()
windowStart = date.sub(d: window, from: stop)

latency =
    from(bucket: bucket)
        |> range(start: -lookback, stop: stop)
        |> filter(fn: (r) => r._measurement == measurement and r._field == field)
        |> group(columns: ["tenant_id", "endpoint"])

// Nearest-rank P99 and sample count per window; _time is the window's end.
p99s =
    latency
        |> aggregateWindow(
            every: window,
            fn: (column, tables=<-) => tables |> quantile(q: 0.99, method: "exact_selector", column: column),
            createEmpty: false,
        )
counts = latency |> aggregateWindow(every: window, fn: count, createEmpty: false)
windows =
    join.inner(
        left: p99s,
        right: counts,
        on: (l, r) => l._time == r._time and l.tenant_id == r.tenant_id and l.endpoint == r.endpoint,
        as: (l, r) => ({_time: l._time, tenant_id: l.tenant_id, endpoint: l.endpoint, p99: float(v: l._value), n: r._value}),
    )

previous = windows |> filter(fn: (r) => r._time <= windowStart and r.n >= minSamples)
baseline =
    join.inner(
        left: previous |> median(column: "p99", method: "exact_mean"),
        right: previous |> count(column: "p99"),
        on: (l, r) => l.tenant_id == r.tenant_id and l.endpoint == r.endpoint,
        as: (l, r) => ({tenant_id: l.tenant_id, endpoint: l.endpoint, baseline: l.p99, windows: r.p99}),
    )
        |> filter(fn: (r) => r.windows >= minBaselineWindows)

current = windows |> filter(fn: (r) => r._time > windowStart and r.n >= minSamples)

// The state the previous run wrote, for hysteresis.
before =
    from(bucket: bucket)
        |> range(start: -lookback, stop: stop)
        |> filter(fn: (r) => r._measurement == "tenantlens_alerts" and r._field == "firing")
        |> group(columns: ["tenant_id", "endpoint"])
        |> last()

evaluated =
    join.inner(
        left: current,
        right: baseline,
        on: (l, r) => l.tenant_id == r.tenant_id and l.endpoint == r.endpoint,
        as: (l, r) => {
            threshold = if r.baseline * ratio > r.baseline + floorMs then r.baseline * ratio else r.baseline + floorMs

            return {
                tenant_id: l.tenant_id,
                endpoint: l.endpoint,
                p99: l.p99,
                n: l.n,
                baseline: r.baseline,
                threshold: threshold,
                resolveBelow: r.baseline * resolveRatio,
            }
        },
    )

states =
    join.left(
        left: evaluated |> group(columns: ["tenant_id", "endpoint"]),
        right: before,
        on: (l, r) => l.tenant_id == r.tenant_id and l.endpoint == r.endpoint,
        as: (l, r) => {
            wasFiring = if exists r._value then r._value else false
            firing = l.p99 > l.threshold or wasFiring and l.p99 >= l.resolveBelow

            return {
                _time: stop,
                _measurement: "tenantlens_alerts",
                tenant_id: l.tenant_id,
                endpoint: l.endpoint,
                firing: firing,
                changed: firing != wasFiring,
                p99_ms: l.p99,
                baseline_ms: l.baseline,
                threshold_ms: l.threshold,
                count: l.n,
            }
        },
    )

states
    |> filter(fn: (r) => r.changed and webhookURL != "")
    |> map(
        fn: (r) => {
            body =
                json.encode(
                    v: {
                        source: "tenantlens-flux-task",
                        tenant: r.tenant_id,
                        dimension: {kind: "endpoint", value: r.endpoint},
                        state: if r.firing then "firing" else "resolved",
                        p99Ms: r.p99_ms,
                        baselineMs: r.baseline_ms,
                        thresholdMs: r.threshold_ms,
                        count: r.count,
                    },
                )
            status = http.post(url: webhookURL, headers: {"Content-Type": "application/json"}, data: body)

            return {r with webhook_status: status}
        },
    )
    |> yield(name: "notified")

states
    |> drop(columns: ["changed"])
    |> to(bucket: bucket, tagColumns: ["tenant_id", "endpoint"], fieldFn: (r) => ({"firing": r.firing, "p99_ms": r.p99_ms, "baseline_ms": r.baseline_ms, "threshold_ms": r.threshold_ms, "count": r.count}))
