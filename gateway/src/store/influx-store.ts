import type { InfluxConfig } from '../config.ts';
import { encodePoints, TimestampSlots } from '../influx/point-identity.ts';
import type { WriteTransport } from '../influx/transport.ts';
import type { LineWriter } from '../influx/writer.ts';
import type { MappingRules } from '../mapping/rules.ts';
import { createInfluxDrillDown } from '../query/influx.ts';
import type { Store } from './store.ts';

/** InfluxDB: points become line protocol with collision-free timestamps, then the batching writer. */
export function createInfluxStore(opts: { config: InfluxConfig; rules: MappingRules; writer: LineWriter; transport: WriteTransport }): Store {
  const { writer, transport } = opts;
  const slots = new TimestampSlots();
  let reachable = { at: 0, ok: false };
  return {
    kind: 'influxdb',
    offer(points) {
      const lines = encodePoints(points, slots);
      return lines.length === 0 || writer.offer(lines);
    },
    retryAfterSeconds: () => writer.retryAfterSeconds(),
    get isFull() {
      return writer.isFull;
    },
    get bufferedPoints() {
      return writer.bufferedLines;
    },
    get bufferedBytes() {
      return writer.bufferedBytes;
    },
    async reachable() {
      // /readyz may be polled often; one ping a second is plenty.
      if (Date.now() - reachable.at > 1000) reachable = { at: Date.now(), ok: await transport.ping() };
      return reachable.ok;
    },
    drain: (deadline) => writer.drain(deadline),
    async close() {
      writer.close();
      await transport.close();
    },
    queries: createInfluxDrillDown(opts.config, opts.rules),
  };
}
