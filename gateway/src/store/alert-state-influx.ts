import type { InfluxConfig } from '../config.ts';
import { ident } from '../query/influxql.ts';
import { runInfluxQL } from '../query/influxql-http.ts';
import { ALERT_STATE, alertStateFromRow, alertStatePoint, episodeId, type AlertStateRecord, type AlertStateStore } from '../schema/alert-state.ts';
import type { PointSink } from './store.ts';

interface Series {
  readonly columns?: string[];
  readonly values?: unknown[][];
}

/**
 * The alert state on InfluxDB: written through the store's own sink (the same buffer, spool and
 * retries as the data; a full buffer refuses it and the evaluator writes it again next time),
 * read back at start-up with one InfluxQL SELECT, which 1.x, 2.x (DBRP `/query`) and 3.x all answer.
 * Every write is a new point at its write time; the reader keeps the newest one of each episode.
 */
export function createInfluxAlertState(config: InfluxConfig, sink: Pick<PointSink, 'offer'>): AlertStateStore {
  return {
    async save(records) {
      // The episode is the point's identity: the same episode written twice in a nanosecond replaces itself.
      const ok = sink.offer(records.map((r) => ({ point: alertStatePoint(r), spanId: episodeId(r) })));
      return ok ? { kind: 'success' } : { kind: 'retryable', reason: 'the write buffer is full' };
    },
    async load(sinceMs) {
      const q = `SELECT * FROM ${ident(ALERT_STATE.name)} WHERE time >= ${BigInt(Math.floor(sinceMs)) * 1_000_000n}`;
      const [result] = await runInfluxQL<Series>(config, q);
      // Nothing written yet: 1.x answers no series; InfluxDB 3 "table not found"; a new database "database not found".
      if (result?.error !== undefined) {
        if (/not found/i.test(result.error)) return [];
        throw new Error(`reading ${ALERT_STATE.name} failed: ${result.error}`);
      }
      const out: AlertStateRecord[] = [];
      for (const s of result?.series ?? []) {
        const columns = s.columns ?? [];
        for (const values of s.values ?? []) {
          const r = alertStateFromRow(Object.fromEntries(columns.map((c, i) => [c, values[i]])));
          if (r !== undefined) out.push(r);
        }
      }
      return out;
    },
  };
}
