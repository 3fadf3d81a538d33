/**
 * The unit the mappers produce and both stores write: a measurement, sorted tags, typed fields
 * and a nanosecond timestamp. Declared here, below the mapping and the stores, so that neither
 * the InfluxDB writer nor the embedded store imports the mapping (nor the mapping the writer) to
 * name it.
 */

export type FieldValue =
  | { readonly type: 'integer'; readonly value: bigint | number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'boolean'; readonly value: boolean };

export type FieldType = FieldValue['type'];

export interface Point {
  readonly measurement: string;
  /** Sorted by key (InfluxDB's recommendation, and what makes the series key canonical); no empty values. */
  readonly tags: ReadonlyArray<readonly [string, string]>;
  readonly fields: ReadonlyArray<readonly [string, FieldValue]>;
  /** Nanoseconds since the epoch. Never a JS number: 2^53 ns is only ~104 days. */
  readonly timestamp: bigint;
}

/**
 * A point plus the item it came from (span, data point, log record, beacon): the id keeps distinct
 * items from overwriting each other (influx/point-identity.ts; the embedded store's dedupe on tenant, id and time).
 */
export interface MappedPoint {
  readonly point: Point;
  readonly spanId: string;
}
