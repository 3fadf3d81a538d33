import type { Logger } from 'pino';
import type { AlertsConfig } from '../config.ts';
import type { GatewayMetrics } from '../ops/metrics.ts';
import type { DrillDown } from '../query/model.ts';
import type { AlertStateStore } from '../schema/alert-state.ts';
import { createEvaluator, type EvaluationResult, type Evaluator } from './evaluator.ts';
import { alertmanagerPayload } from './alertmanager-payload.ts';
import type { EpisodeState } from './episode.ts';
import { createStateKeeper, type EpisodeIdentity, type StateKeeper } from './state-keeper.ts';
import type { AlertView } from './state.ts';
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
  /** Resolves when every queued notification has been delivered or given up, and that is stored (tests, shutdown: before the store drains). */
  idle(): Promise<void>;
}

export interface AlertingOptions {
  readonly config: AlertsConfig;
  readonly queries: Pick<DrillDown, 'windowP99'>;
  readonly metrics: Pick<GatewayMetrics, 'alertNotifications' | 'alertEvaluations' | 'alertStateWrites' | 'alertStateLoads'>;
  /** Where the state survives a restart (the store the data lives in); without it, state is memory only. */
  readonly state?: AlertStateStore | undefined;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Retry tuning for the receivers (tests shorten it). */
  readonly retry?: { readonly initialDelayMillis?: number; readonly maxAttempts?: number };
}

const identity = (a: AlertView): EpisodeIdentity => ({ tenant: a.tenant, kind: a.dimension.kind, value: a.dimension.value, sinceMs: Date.parse(a.since), state: a.state });

/**
 * The evaluator on a schedule, wired to the webhook and Alertmanager receivers, the stored state, the metrics and the log.
 * Over 120 lines on purpose: one closure over the receivers, the state keeper and the timer; the
 * start-up read, each evaluation's dispatch and the shutdown all use the same three.
 */
export function createAlerting(opts: AlertingOptions): Alerting {
  const { config, metrics, logger } = opts;
  const evaluator = createEvaluator({ queries: opts.queries, rules: config, dashboardUrl: config.dashboardUrl });
  const keeper: StateKeeper | undefined =
    opts.state === undefined
      ? undefined
      : createStateKeeper({
          store: opts.state,
          evaluator,
          onWrite: (outcome, records, reason) => {
            metrics.alertStateWrites.inc({ outcome });
            if (outcome !== 'success') logger.warn({ records, reason }, 'alert state write failed; written again at the next evaluation');
          },
        });

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

  /**
   * Sends what changed. The transitions are stored as "not notified" first and as "notified" once
   * every receiver has settled them, so a restart in between sends them again: at-least-once.
   */
  async function dispatch(r: EvaluationResult, replay = false): Promise<void> {
    const verb = replay ? 'again (not confirmed delivered before the restart)' : '';
    for (const a of r.fired) logger.warn({ alert: a }, `alert firing: ${a.tenant} ${a.dimension.kind} ${a.dimension.value} P99 ${a.p99Ms} ms, baseline ${a.baselineMs} ms ${verb}`.trimEnd());
    for (const a of r.resolved) logger.info({ alert: a }, `alert resolved: ${a.tenant} ${a.dimension.kind} ${a.dimension.value} ${verb}`.trimEnd());
    const changed = [...r.fired, ...r.resolved];
    const ids = changed.map(identity);
    const sends: Array<(settled: () => void) => void> = [];
    if (webhook !== undefined && changed.length > 0) sends.push((settled) => webhook.push(JSON.stringify(webhookPayload(changed, r.at)), settled));
    if (alertmanager !== undefined && (changed.length > 0 || (r.firing.length > 0 && r.at - lastAlertmanagerSend >= resendMillis))) {
      lastAlertmanagerSend = r.at;
      const body = JSON.stringify(alertmanagerPayload([...r.firing, ...r.resolved], { nowMs: r.at, validForMillis: 4 * resendMillis }));
      sends.push((settled) => alertmanager.push(body, settled));
    }
    if (keeper !== undefined && ids.length > 0 && sends.length > 0) keeper.pending(ids);
    await keeper?.persist();
    let left = sends.length;
    for (const send of sends) {
      send(() => {
        if (--left > 0 || keeper === undefined || ids.length === 0) return;
        keeper.notified(ids);
        void keeper.persist().then((stored) => {
          if (stored) logger.info({ alerts: changed.map((x) => `${x.tenant} ${x.dimension.kind} ${x.dimension.value} ${x.state}`) }, 'alert notifications settled; stored as notified (a restart does not send them again)');
        });
      });
    }
  }

  /** Reads the stored state before the first evaluation, and sends again what was not confirmed delivered. */
  async function load(): Promise<boolean> {
    if (keeper === undefined || keeper.loaded) return true;
    let unsent: EpisodeState[];
    try {
      unsent = await keeper.load();
    } catch (err) {
      metrics.alertStateLoads.inc({ outcome: 'error' });
      logger.error({ err: String(err) }, 'cannot read the stored alert state; not evaluating until it can be read (an evaluation without it would fire again what already fires)');
      return false;
    }
    metrics.alertStateLoads.inc({ outcome: 'ok' });
    const listed = evaluator.alerts();
    const view = (e: EpisodeState): AlertView | undefined =>
      listed.find((a) => a.state === e.state && a.tenant === e.tenant && a.dimension.kind === e.kind && a.dimension.value === e.value && Date.parse(a.since) === e.sinceMs);
    const present = <T>(x: T | undefined): x is T => x !== undefined;
    logger.info({ firing: evaluator.firingCount, listed: listed.length, unsent: unsent.length }, 'alert state read from the store');
    if (unsent.length > 0) {
      const fired = unsent.filter((e) => e.state === 'firing').map(view).filter(present);
      const resolved = unsent.filter((e) => e.state === 'resolved').map(view).filter(present);
      await dispatch({ at: Date.now(), fired, resolved, firing: listed.filter((a) => a.state === 'firing') }, true);
    }
    return true;
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = true;

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = load()
        .then((ready) => (ready ? evaluator.evaluate() : undefined))
        .then(
          async (r) => {
            if (r === undefined) return;
            metrics.alertEvaluations.inc({ outcome: 'ok' });
            await dispatch(r);
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
      // The "notified" marks of what was just delivered, so a restart does not send it again.
      await keeper?.persist();
    },
  };
}
