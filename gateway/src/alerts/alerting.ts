import type { Logger } from 'pino';
import type { AlertsConfig } from '../config.ts';
import type { GatewayMetrics } from '../ops/metrics.ts';
import type { DrillDown } from '../query/model.ts';
import { createEvaluator, type EvaluationResult, type Evaluator } from './evaluator.ts';
import { alertmanagerPayload } from './alertmanager-payload.ts';
import { createNotifyQueue, type NotifyQueue } from './notify/queue.ts';
import { createHttpTransport, createRetryingTransport } from './notify/transport.ts';
import { webhookPayload } from './webhook-payload.ts';

/** Alertmanager forgets an alert that is not re-sent; Prometheus re-sends at most once a minute. */
const RESEND_MILLIS = 60_000;

export interface Alerting {
  readonly evaluator: Evaluator;
  /** Evaluates every ALERT_INTERVAL (timers unref'd: they never hold the process open). */
  start(): void;
  /** Stops scheduling; resolves once the running evaluation is done. */
  stop(): Promise<void>;
  /** Resolves when every queued notification has been delivered or given up (tests, shutdown). */
  idle(): Promise<void>;
}

export interface AlertingOptions {
  readonly config: AlertsConfig;
  readonly queries: Pick<DrillDown, 'windowP99'>;
  readonly metrics: Pick<GatewayMetrics, 'alertNotifications' | 'alertEvaluations'>;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Retry tuning for the receivers (tests shorten it). */
  readonly retry?: { readonly initialDelayMillis?: number; readonly maxAttempts?: number };
}

/** The evaluator on a schedule, wired to the webhook and Alertmanager receivers, the metrics and the log. */
export function createAlerting(opts: AlertingOptions): Alerting {
  const { config, metrics, logger } = opts;
  const evaluator = createEvaluator({ queries: opts.queries, rules: config, dashboardUrl: config.dashboardUrl });

  function receiver(name: 'webhook' | 'alertmanager', url: string): NotifyQueue {
    const transport = createRetryingTransport({
      transport: createHttpTransport({ url }),
      initialDelayMillis: opts.retry?.initialDelayMillis ?? 1000,
      maxAttempts: opts.retry?.maxAttempts ?? 5,
      onRetry: (error, delay) => {
        metrics.alertNotifications.inc({ receiver: name, outcome: 'retry' });
        logger.warn({ receiver: name, error, retryInMillis: delay }, 'alert notification failed; will retry');
      },
    });
    return createNotifyQueue({
      transport,
      onOutcome: (outcome, error) => {
        metrics.alertNotifications.inc({ receiver: name, outcome });
        if (outcome === 'failure') logger.error({ receiver: name, error }, 'alert notification failed; given up');
        if (outcome === 'dropped') logger.error({ receiver: name }, 'alert notification queue full; the oldest notification was dropped');
      },
    });
  }
  const webhook = config.webhookUrl === undefined ? undefined : receiver('webhook', config.webhookUrl);
  const alertmanager = config.alertmanagerUrl === undefined ? undefined : receiver('alertmanager', `${config.alertmanagerUrl}/api/v2/alerts`);
  const resendMillis = Math.max(RESEND_MILLIS, config.intervalMillis);
  let lastAlertmanagerSend = -Infinity;

  function dispatch(r: EvaluationResult): void {
    for (const a of r.fired) logger.warn({ alert: a }, `alert firing: ${a.tenant} ${a.dimension.kind} ${a.dimension.value} P99 ${a.p99Ms} ms, baseline ${a.baselineMs} ms`);
    for (const a of r.resolved) logger.info({ alert: a }, `alert resolved: ${a.tenant} ${a.dimension.kind} ${a.dimension.value}`);
    const changed = [...r.fired, ...r.resolved];
    if (webhook !== undefined && changed.length > 0) webhook.push(JSON.stringify(webhookPayload(changed, r.at)));
    if (alertmanager !== undefined && (changed.length > 0 || (r.firing.length > 0 && r.at - lastAlertmanagerSend >= resendMillis))) {
      lastAlertmanagerSend = r.at;
      const body = alertmanagerPayload([...r.firing, ...r.resolved], { nowMs: r.at, validForMillis: 4 * resendMillis });
      alertmanager.push(JSON.stringify(body));
    }
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = true;

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = evaluator
        .evaluate()
        .then(
          (r) => {
            metrics.alertEvaluations.inc({ outcome: 'ok' });
            dispatch(r);
          },
          (err: unknown) => {
            metrics.alertEvaluations.inc({ outcome: 'error' });
            logger.error({ err: String(err) }, 'alert evaluation failed; next attempt at the next interval');
          },
        )
        // Telemetry never throws into the host: not even a logger failure.
        .catch(() => undefined);
      void running.finally(schedule);
    }, config.intervalMillis);
    timer.unref();
  }

  return {
    evaluator,
    start() {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
    async idle() {
      await running;
      await Promise.all([webhook?.idle(), alertmanager?.idle()]);
    },
  };
}
