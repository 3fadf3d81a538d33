import { randomBytes } from 'node:crypto';
import { GatewayError } from '../errors.ts';
import { MAX_TIMESTAMP_NS } from '../otlp/model.ts';

/** What makes a beacon's point: its identity (`MappedPoint.spanId`) and its timestamp. */
export interface BeaconIdentity {
  readonly id: string;
  readonly timestampNs: bigint;
}

/** Printable ASCII without spaces, like a span id or a UUID: it is a key, never shown or stored as a tag. */
const ID = /^[\x21-\x7e]{1,64}$/;
const MAX_TIMESTAMP_MILLIS = Number(MAX_TIMESTAMP_NS / 1_000_000n);

/**
 * A beacon's identity. With `id` and `timestamp` (epoch milliseconds, fractions down to the
 * microsecond) from the client, sending the beacon again (a retry after a lost answer, a page
 * resending its queue) makes the same point: InfluxDB overwrites it with itself, the embedded
 * store skips it (same tenant, id and time). Without them, the gateway draws a random id and
 * reads its own clock, so every delivery is a new point.
 *
 * `id` alone is refused: with the gateway's clock, a retry would still be a second point while
 * the client believed it had made its beacon idempotent.
 */
export function beaconIdentity(b: Readonly<Record<string, unknown>>, at: string): BeaconIdentity {
  const { id, timestamp } = b;
  if (timestamp !== undefined && timestamp !== null) {
    if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp < 0 || timestamp > MAX_TIMESTAMP_MILLIS) {
      throw new GatewayError('MALFORMED_BODY', `${at}.timestamp: expected epoch milliseconds (a finite number, 0 or more)`);
    }
  }
  const hasTime = typeof timestamp === 'number';
  if (id !== undefined && id !== null) {
    if (typeof id !== 'string' || !ID.test(id)) throw new GatewayError('MALFORMED_BODY', `${at}.id: expected 1–64 printable ASCII characters, no spaces`);
    if (!hasTime) throw new GatewayError('MALFORMED_BODY', `${at}.id: needs a timestamp (epoch milliseconds) too, or a retry is stored as a second point`);
    return { id, timestampNs: millisToNanos(timestamp as number) };
  }
  // No id of its own: a random one keeps two beacons in one microsecond apart.
  return { id: randomBytes(8).toString('hex'), timestampNs: hasTime ? millisToNanos(timestamp) : nowNanos() };
}

/** Microsecond resolution, as the gateway's own clock: a browser's clock is no finer. */
function millisToNanos(ms: number): bigint {
  return BigInt(Math.round(ms * 1000)) * 1000n;
}

/** The gateway's clock, at microsecond resolution. */
function nowNanos(): bigint {
  return millisToNanos(performance.timeOrigin + performance.now());
}
