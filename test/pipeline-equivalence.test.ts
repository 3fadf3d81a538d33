import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildFixtures, buildShapedFixtures } from '../harness/fixtures.ts';
import { createIdiomaticPipeline } from '../harness/idiomatic-pipeline.ts';
import { naivePipeline } from '../harness/naive-pipeline.ts';
import { encodePoints, TimestampSlots } from '../gateway/src/influx/point-identity.ts';
import { FieldTypeRegistry } from '../gateway/src/mapping/field-types.ts';
import { createSpanMapper } from '../gateway/src/mapping/map-spans.ts';
import { DEFAULT_RULES } from '../gateway/src/mapping/rules.ts';
import { decodeTraceRequest, type OtlpEncoding } from '../gateway/src/otlp/decode.ts';

/**
 * The fast path against the naive baseline the benchmark measures it by (bench/naive-pipeline.ts:
 * the library's protobuf decoder and `@influxdata/influxdb-client` `Point`s), on the benchmark's
 * own fixture corpus: every line must carry the same measurement, tags, fields, values and types.
 * A speed-up that changed what is stored would fail here. The idiomatic baseline
 * (harness/idiomatic-pipeline.ts) is held to the same, so that both baselines of `bench/e2e.ts`
 * store what we store.
 *
 * Not byte-identical, by design, and normalised here: `Point` sorts fields by key and spells
 * booleans `T`/`F`; ours adds `gateway_instance` and `scope_name`, and spreads whole-microsecond
 * timestamps below the microsecond (point-identity.ts), so times are compared to the microsecond.
 */
interface ParsedLine {
  readonly measurement: string;
  readonly tags: Record<string, string>;
  readonly fields: Record<string, string>;
  readonly micros: string;
}

/** Splits at unescaped `sep` outside double quotes (line protocol's own rules, for our test data). */
function splitTop(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + (s[i + 1] as string);
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  out.push(cur);
  return out;
}

function parseLine(line: string): ParsedLine {
  const [key, fieldText, ts] = splitTop(line, ' ');
  assert.ok(key !== undefined && fieldText !== undefined && ts !== undefined, `three parts: ${line}`);
  const [measurement, ...tagPairs] = splitTop(key, ',');
  const kv = (pairs: string[]): Record<string, string> => Object.fromEntries(pairs.map((p) => splitTop(p, '=')).map(([k, ...v]) => [k as string, v.join('=')]));
  const fields = kv(splitTop(fieldText, ','));
  for (const [k, v] of Object.entries(fields)) {
    if (v === 'T' || v === 't' || v === 'TRUE') fields[k] = 'true';
    if (v === 'F' || v === 'f' || v === 'FALSE') fields[k] = 'false';
  }
  delete fields.gateway_instance;
  delete fields.scope_name;
  return { measurement: measurement as string, tags: kv(tagPairs), fields, micros: ts.slice(0, -3) };
}

type Baseline = (body: Uint8Array, encoding: OtlpEncoding) => string[];

const naive: Baseline = (body, encoding) => naivePipeline(body, encoding, 'acme').split('\n');
const idiomaticPipeline = createIdiomaticPipeline();
const idiomatic: Baseline = (body, encoding) =>
  idiomaticPipeline(body, encoding, 'acme').map((p) => {
    const line = p.toLineProtocol();
    assert.ok(line !== undefined, 'the client wrote a line');
    return line;
  });

function compare(bodies: readonly Uint8Array[], encoding: OtlpEncoding, baseline: Baseline): number {
  const mapper = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry());
  const slots = new TimestampSlots();
  let lines = 0;
  for (const body of bodies) {
    const ours = encodePoints(mapper.map(decodeTraceRequest(body, encoding), { tenantId: 'acme', instanceName: 'bench' }).points, slots).map(parseLine);
    const theirs = baseline(body, encoding).map(parseLine);
    assert.equal(ours.length, theirs.length, 'same number of lines');
    const key = (l: ParsedLine): string => `${l.measurement}|${l.fields.span_id}|${l.micros}`;
    const byKey = new Map(theirs.map((l) => [key(l), l]));
    for (const l of ours) {
      const n = byKey.get(key(l));
      assert.ok(n !== undefined, `a baseline line for ${key(l)}`);
      assert.deepEqual(l, n);
    }
    lines += ours.length;
  }
  return lines;
}

const BASELINES: ReadonlyArray<readonly [string, Baseline]> = [
  ['the naive Point baseline', naive],
  ["the idiomatic baseline (decode, our mapping, the official client's Points)", idiomatic],
];

for (const [name, baseline] of BASELINES) {
  test(`the fast path stores exactly what ${name} stores (bench fixtures, protobuf and JSON)`, () => {
    const fixture = buildFixtures(10, 100);
    const shaped = buildShapedFixtures({ requests: 5, spansPerRequest: 50, attributes: 40, sessions: 7 });
    let lines = 0;
    for (const encoding of ['protobuf', 'json'] as const) {
      lines += compare(fixture[encoding], encoding, baseline);
      lines += compare(shaped[encoding], encoding, baseline);
    }
    assert.ok(lines > 4000, `${lines} lines compared`);
  });
}
