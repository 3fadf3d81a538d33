import type { InfluxConfig } from '../config.ts';
import { GatewayError } from '../errors.ts';
import { encodePoints, TimestampSlots } from '../influx/point-identity.ts';
import type { Spool } from '../influx/spool.ts';
import type { WriteTransport } from '../influx/transport.ts';
import type { LineWriter } from '../influx/writer.ts';
import type { MappingRules } from '../mapping/rules.ts';
import type { ColumnBudget } from '../mapping/column-budget.ts';
import { createPointBudget } from '../mapping/point-budget.ts';
import { declaredFields } from '../schema/derived.ts';
import { createInfluxBrowserQueries } from '../query/browser-influx.ts';
import { createInfluxDrillDown } from '../query/influx.ts';
import { createInfluxAlertState } from './alert-state-influx.ts';
import { createFullLatch } from './full-latch.ts';
import type { EncodedLines, LineSink, StoreParts, WriteSink } from './store.ts';
import type { RollupCoverage } from '../rollup/recorder.ts';

const REFUSALS = {
  memory: 'the write buffer is full (the database is slow or unreachable); retry later',
  full: 'the spool is full (SPOOL_MAX_BYTES; the database is slow or unreachable); retry later',
  'too-large': 'the request encodes to more line protocol than the write buffer holds (BUFFER_MAX_BYTES); send smaller batches',
  'disk-error': 'the spool cannot write to disk; retry later or on another instance',
} as const;

/** The InfluxDB write side: it takes the fused encoder's lines as well as points. */
export interface InfluxSink extends WriteSink, LineSink {
  /** Wired to the writer's `onReleased`: InfluxDB took the oldest lines, so the spool may drop them and feed more. */
  released(lines: number): void;
  readonly isFull: boolean;
}

export interface InfluxStoreOptions {
  readonly config: InfluxConfig;
  readonly rules: MappingRules;
  readonly writer: LineWriter;
  readonly transport: WriteTransport;
  readonly spool?: Spool | undefined;
  /** Rollups on: the recorder's coverage, for the drill-down (query/rollup-drilldown.ts). */
  readonly rollups?: RollupCoverage | undefined;
  /** The column budget (store/column-claims.ts), applied to whole points as the last step before line protocol. */
  readonly budget?: ColumnBudget | undefined;
  /** Fields the budget moved into the overflow field, per measurement. */
  readonly overflowed?: (measurement: string, fields: number) => void;
}

/**
 * InfluxDB: points become line protocol with collision-free timestamps, then the batching writer.
 * With a spool, every request's lines are appended to disk first and the writer is fed from the
 * spool in order, as far as its memory buffer allows; the rest waits on disk.
 */
export function createInfluxStore(opts: InfluxStoreOptions): StoreParts<InfluxSink> {
  const sink = createInfluxSink(opts);
  let reachable = { at: 0, ok: false };
  return {
    sink,
    health: {
      async check() {
        const problems = sink.isFull ? ['write buffer full'] : [];
        // /readyz may be polled often; one ping a second is plenty.
        if (Date.now() - reachable.at > 1000) reachable = { at: Date.now(), ok: await opts.transport.ping() };
        // InfluxDB down is a warning, not unreadiness: every replica shares the database, so taking
        // them all out of the Service would turn buffering (memory or spool) into refused
        // connections. The buffer filling up is what makes a replica unready.
        return { problems, warnings: reachable.ok ? [] : ['InfluxDB unreachable'] };
      },
    },
    queries: createInfluxDrillDown(opts.config, opts.rules, opts.rollups),
    browser: createInfluxBrowserQueries(opts.config),
    alertState: createInfluxAlertState(opts.config, sink),
  };
}

function createInfluxSink(opts: InfluxStoreOptions): InfluxSink {
  const { writer, transport, spool } = opts;
  const columns = opts.budget === undefined ? undefined : createPointBudget(opts.budget, declaredFields(opts.rules), opts.overflowed);
  const slots = new TimestampSlots();
  let refusal: keyof typeof REFUSALS = 'memory';
  const full = createFullLatch();

  function refusalError(reason: keyof typeof REFUSALS): GatewayError {
    if (reason === 'too-large') return new GatewayError('BODY_TOO_LARGE', REFUSALS[reason]);
    return new GatewayError(reason === 'disk-error' ? 'SPOOL_UNAVAILABLE' : 'BUFFER_FULL', REFUSALS[reason], { retryAfterSeconds: writer.retryAfterSeconds() });
  }

  /** The memory buffer took the lines (`ok`) or refused them: then early refusal engages. */
  function buffered(ok: boolean): boolean {
    refusal = 'memory';
    if (!ok) full.refused(writer.bufferedBytes);
    return ok;
  }

  function spoolLines(lines: readonly string[]): boolean {
    const r = (spool as Spool).append(lines);
    if (!r.ok) {
      refusal = r.reason;
      return false;
    }
    feed();
    return true;
  }

  /** Hands spooled records to the writer, oldest first, while its memory buffer has room. */
  function feed(): void {
    if (spool === undefined) return;
    for (let lines = spool.peek(); lines !== undefined; lines = spool.peek()) {
      if (!writer.offer(lines)) return;
      spool.handOut();
    }
  }

  return {
    released(n) {
      spool?.release(n);
      feed();
    },
    offer(points) {
      const lines = encodePoints(columns === undefined ? points : columns(points), slots);
      if (lines.length === 0) return true;
      return spool === undefined ? buffered(writer.offer(lines)) : spoolLines(lines);
    },
    slots,
    offerLines(encoded: EncodedLines) {
      if (encoded.count === 0) return true;
      return spool === undefined ? buffered(writer.offerBytes(encoded.body, encoded.count)) : spoolLines(encoded.lines());
    },
    persisted() {
      if (spool === undefined) return undefined;
      return spool.synced().catch((err: unknown) => {
        throw new GatewayError('SPOOL_UNAVAILABLE', `${REFUSALS['disk-error']} (${(err as Error).message})`, { retryAfterSeconds: 5 });
      });
    },
    refusal() {
      return refusalError(refusal);
    },
    fullError() {
      if (spool === undefined) return full.holds(writer.bufferedBytes) ? refusalError('memory') : undefined;
      if (spool.failed !== undefined) return refusalError('disk-error');
      return spool.isFull ? refusalError('full') : undefined;
    },
    durable: spool !== undefined,
    get isFull() {
      return spool === undefined ? writer.isFull : spool.isFull || spool.failed !== undefined;
    },
    get bufferedPoints() {
      return spool === undefined ? writer.bufferedLines : spool.lines;
    },
    get bufferedBytes() {
      return writer.bufferedBytes;
    },
    async drain(deadline) {
      // The writer drains what it holds; spooled records follow as it makes room.
      for (;;) {
        feed();
        const left = await writer.drain(deadline);
        if (left > 0 || spool === undefined || spool.waitingLines === 0 || Date.now() >= deadline) break;
      }
      return spool === undefined ? writer.bufferedLines : spool.lines;
    },
    async close() {
      writer.close();
      await spool?.close();
      await transport.close();
    },
  };
}
