import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldValue, Point } from '../gateway/src/schema/point.ts';
import { encodeLine } from '../gateway/src/influx/line-protocol.ts';
import { startInfluxd, type Influxd, type InfluxSeries } from '../harness/influxd.ts';
import { storedFieldKey, storedTag } from './support/stored-escaping.ts';

/**
 * The encoder's escaping, checked against a real influxd 1.6.7: every nasty string is written with
 * `encodeLine` and read back. Where influxd can store a string exactly, it must come back exactly;
 * where it cannot, the documented transformation must be what is stored:
 *  - trailing backslashes are dropped from measurements, keys and tag values;
 *  - newline / CR / tab outside string fields become the two characters `\n`, `\r`, `\t`;
 *  - an odd run of backslashes directly before a space (tags) or a space, comma or `=` (field keys,
 *    measurements) loses one backslash.
 * Each write also carries a clean neighbour line, which must survive: a mis-escaped line that
 * swallows the newline after it takes the next line (another tenant's, in a real batch) with it.
 */

const BS = '\\';

interface Nasty {
  readonly name: string;
  readonly raw: string;
  /** Stored as tag key and tag value; undefined: the tag is omitted. */
  readonly tag: string | undefined;
  /** Stored as field key; undefined: the field is omitted. */
  readonly fieldKey: string | undefined;
}

// String field values must always come back exactly, so they have no column here.
const NASTY: readonly Nasty[] = [
  { name: 'space', raw: 'a b', tag: 'a b', fieldKey: 'a b' },
  { name: 'comma', raw: 'a,b', tag: 'a,b', fieldKey: 'a,b' },
  { name: 'equals', raw: 'a=b', tag: 'a=b', fieldKey: 'a=b' },
  { name: 'double quotes', raw: 'say "hi"', tag: 'say "hi"', fieldKey: 'say "hi"' },
  { name: 'backslash inside', raw: String.raw`C:\dir`, tag: String.raw`C:\dir`, fieldKey: String.raw`C:\dir` },
  { name: 'trailing backslash', raw: 'end' + BS, tag: 'end', fieldKey: 'end' },
  { name: 'only backslashes', raw: BS + BS, tag: undefined, fieldKey: undefined },
  { name: 'newline', raw: 'a\nb', tag: String.raw`a\nb`, fieldKey: String.raw`a\nb` },
  { name: 'carriage return', raw: 'a\rb', tag: String.raw`a\rb`, fieldKey: String.raw`a\rb` },
  { name: 'tab', raw: 'a\tb', tag: String.raw`a\tb`, fieldKey: String.raw`a\tb` },
  { name: 'umlaut', raw: 'Grüße', tag: 'Grüße', fieldKey: 'Grüße' },
  { name: 'emoji', raw: 'ok 😀', tag: 'ok 😀', fieldKey: 'ok 😀' },
  { name: 'backslash before comma', raw: String.raw`a\,b`, tag: String.raw`a\,b`, fieldKey: 'a,b' },
  { name: 'backslash before space', raw: String.raw`a\ b`, tag: 'a b', fieldKey: 'a b' },
  { name: 'backslash before equals', raw: String.raw`a\=b`, tag: String.raw`a\=b`, fieldKey: 'a=b' },
  { name: 'two backslashes before space', raw: String.raw`a\\ b`, tag: String.raw`a\\ b`, fieldKey: String.raw`a\\ b` },
  { name: 'two backslashes before comma', raw: String.raw`a\\,b`, tag: String.raw`a\\,b`, fieldKey: String.raw`a\\,b` },
  { name: 'backslash before quote', raw: String.raw`a\"b`, tag: String.raw`a\"b`, fieldKey: String.raw`a\"b` },
  { name: 'backslash before newline', raw: 'a\\\nb', tag: String.raw`a\\nb`, fieldKey: String.raw`a\\nb` },
  { name: 'leading separators', raw: ',= x', tag: ',= x', fieldKey: ',= x' },
];

let influx: Influxd;
before(async () => {
  influx = await startInfluxd();
});
after(async () => {
  await influx?.close();
});

async function write(lines: readonly string[], db = 'tenantlens'): Promise<void> {
  const res = await fetch(`${influx.url}/write?db=${db}&precision=ns`, { method: 'POST', body: lines.join('\n') + '\n' });
  assert.equal(res.status, 204, `influxd refused the write: ${await res.text()}\n${lines.join('\n')}`);
}

function line(point: Point): string {
  const l = encodeLine(point);
  assert.ok(l !== undefined, `no line for ${JSON.stringify(point, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
  return l;
}

const int = (n: number): FieldValue => ({ type: 'integer', value: n });
const str = (s: string): FieldValue => ({ type: 'string', value: s });

/** Rows of one series as objects, keyed by the `case` tag; null columns left out. */
function rowsByCase(series: InfluxSeries[]): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const s of series) {
    for (const row of s.values) {
      const o: Record<string, unknown> = {};
      s.columns.forEach((c, i) => {
        if (row[i] !== null && row[i] !== undefined) o[c] = row[i];
      });
      out.set(String(o.case), o);
    }
  }
  return out;
}

/** A clean neighbour after every nasty line; all of them must be stored. */
async function assertNeighboursSurvived(measurement: string, count: number): Promise<void> {
  const series = await influx.query(`SELECT count("i") FROM "${measurement}"`);
  assert.deepEqual(series[0]?.values, [['0', count]], `clean neighbour lines of ${measurement}`);
}

test('tag values round-trip (or are transformed as documented)', async () => {
  const lines: string[] = [];
  NASTY.forEach((c, i) => {
    lines.push(line({ measurement: 'tag_values', tags: [['case', String(i)], ['v', c.raw]], fields: [['i', int(i)]], timestamp: BigInt(1000 + i) }));
    lines.push(line({ measurement: 'tag_values_neighbour', tags: [['case', String(i)]], fields: [['i', int(i)]], timestamp: BigInt(1000 + i) }));
  });
  await write(lines);
  const rows = rowsByCase(await influx.query('SELECT * FROM tag_values'));
  NASTY.forEach((c, i) => {
    assert.deepEqual(rows.get(String(i)), { time: String(1000 + i), case: String(i), i, ...(c.tag === undefined ? {} : { v: c.tag }) }, c.name);
  });
  const shown = await influx.query('SHOW TAG VALUES FROM tag_values WITH KEY = "v"');
  const expected = [...new Set(NASTY.flatMap((c) => (c.tag === undefined ? [] : [c.tag])))].sort();
  assert.deepEqual(shown[0]?.values.map((v) => v[1]).sort(), expected);
  await assertNeighboursSurvived('tag_values_neighbour', NASTY.length);
});

test('tag keys round-trip (or are transformed as documented)', async () => {
  const lines: string[] = [];
  NASTY.forEach((c, i) => {
    lines.push(line({ measurement: 'tag_keys', tags: [['case', String(i)], [c.raw, 'x' + i]], fields: [['i', int(i)]], timestamp: BigInt(2000 + i) }));
    lines.push(line({ measurement: 'tag_keys_neighbour', tags: [['case', String(i)]], fields: [['i', int(i)]], timestamp: BigInt(2000 + i) }));
  });
  await write(lines);
  const rows = rowsByCase(await influx.query('SELECT * FROM tag_keys'));
  NASTY.forEach((c, i) => {
    assert.deepEqual(rows.get(String(i)), { time: String(2000 + i), case: String(i), i, ...(c.tag === undefined ? {} : { [c.tag]: 'x' + i }) }, c.name);
  });
  const keys = await influx.query('SHOW TAG KEYS FROM tag_keys');
  const expected = [...new Set(['case', ...NASTY.flatMap((c) => (c.tag === undefined ? [] : [c.tag]))])].sort();
  assert.deepEqual(keys[0]?.values.map((v) => v[0]).sort(), expected);
  await assertNeighboursSurvived('tag_keys_neighbour', NASTY.length);
});

test('field keys round-trip (or are transformed as documented)', async () => {
  const lines: string[] = [];
  NASTY.forEach((c, i) => {
    lines.push(line({ measurement: 'field_keys', tags: [['case', String(i)]], fields: [[c.raw, str('v' + i)], ['i', int(i)]], timestamp: BigInt(3000 + i) }));
    lines.push(line({ measurement: 'field_keys_neighbour', tags: [['case', String(i)]], fields: [['i', int(i)]], timestamp: BigInt(3000 + i) }));
  });
  await write(lines);
  const rows = rowsByCase(await influx.query('SELECT * FROM field_keys'));
  NASTY.forEach((c, i) => {
    assert.deepEqual(rows.get(String(i)), { time: String(3000 + i), case: String(i), i, ...(c.fieldKey === undefined ? {} : { [c.fieldKey]: 'v' + i }) }, c.name);
  });
  const keys = await influx.query('SHOW FIELD KEYS FROM field_keys');
  const expected = [...new Set(['i', ...NASTY.flatMap((c) => (c.fieldKey === undefined ? [] : [c.fieldKey]))])].sort();
  assert.deepEqual(keys[0]?.values.map((v) => v[0]).sort(), expected);
  await assertNeighboursSurvived('field_keys_neighbour', NASTY.length);
});

test('string field values always round-trip exactly, raw newlines included', async () => {
  const values = [...NASTY.map((c) => c.raw), '', '"', BS, BS + '"', '"' + BS, 'multi\nline\n', '\n', '\\n', 'a\\\\\n"b"'];
  const lines: string[] = [];
  values.forEach((v, i) => {
    lines.push(line({ measurement: 'string_values', tags: [['case', String(i)]], fields: [['s', str(v)], ['i', int(i)]], timestamp: BigInt(4000 + i) }));
    lines.push(line({ measurement: 'string_values_neighbour', tags: [['case', String(i)]], fields: [['i', int(i)]], timestamp: BigInt(4000 + i) }));
  });
  await write(lines);
  const rows = rowsByCase(await influx.query('SELECT * FROM string_values'));
  values.forEach((v, i) => assert.equal(rows.get(String(i))?.s, v, JSON.stringify(v)));
  await assertNeighboursSurvived('string_values_neighbour', values.length);
});

test('measurement names round-trip; a trailing backslash no longer swallows the tags', async () => {
  await influx.createDatabase('measurements');
  // Measurement names come from MAPPING_FILE, which allows no backslash; these are the other nasties.
  const names: Array<[raw: string, stored: string]> = [
    ['web vitals', 'web vitals'],
    ['a,b', 'a,b'],
    ['a=b', 'a=b'],
    ['say "hi"', 'say "hi"'],
    [String.raw`C:\dir`, String.raw`C:\dir`],
    ['Grüße 😀', 'Grüße 😀'],
    ['a\nb', String.raw`a\nb`],
    ['trailing' + BS, 'trailing'],
  ];
  await write(
    names.map(([raw], i) => line({ measurement: raw, tags: [['case', String(i)], ['tenant_id', 'acme']], fields: [['i', int(i)]], timestamp: BigInt(5000 + i) })),
    'measurements',
  );
  const series = await influx.query('SHOW TAG VALUES WITH KEY = "case"', 'measurements');
  const stored = new Map(series.map((s) => [String(s.values[0]?.[1]), s.name]));
  names.forEach(([raw, expected], i) => assert.equal(stored.get(String(i)), expected, JSON.stringify(raw)));
  const tenants = await influx.query('SHOW TAG VALUES WITH KEY = "tenant_id"', 'measurements');
  assert.equal(tenants.length, names.length, 'every measurement kept its tenant_id tag');
});

test('regression: a backslash before a space in a tag no longer desyncs influxd’s line splitter', async () => {
  // Before the fix, `a\ b` was escaped to `a\\ b`: influxd's line splitter read `\\` as an escaped
  // backslash and the space as the end of the tags, then miscounted quotes. Case 1 swallowed the
  // newline and the clean line after it (400 for both); case 2 split the line at the string's newline.
  const cases: Array<{ tags: Point['tags']; value: string; stored: Record<string, string> }> = [
    { tags: [['k', String.raw`a\ b\=c"`]], value: 'x', stored: { k: String.raw`a b\=c"` } },
    { tags: [['j', String.raw`c\,d`], ['k', String.raw`a\ b`]], value: 'x\ny', stored: { j: String.raw`c\,d`, k: 'a b' } },
  ];
  for (const [i, c] of cases.entries()) {
    await write([
      line({ measurement: 'desync', tags: [['case', String(i)], ...c.tags], fields: [['s', str(c.value)]], timestamp: BigInt(6000 + i) }),
      line({ measurement: 'desync', tags: [['case', 'clean' + i]], fields: [['s', str('clean')]], timestamp: BigInt(6000 + i) }),
    ]);
  }
  const rows = rowsByCase(await influx.query('SELECT * FROM desync'));
  cases.forEach((c, i) => {
    assert.deepEqual(rows.get(String(i)), { time: String(6000 + i), case: String(i), s: c.value, ...c.stored });
    assert.equal(rows.get('clean' + i)?.s, 'clean');
  });
});

test('regression: field keys with a backslash before a separator are no longer a 400', async () => {
  // Each of these keys made influxd answer 400 ("invalid field format" / "invalid boolean").
  const keys: Array<[raw: string, stored: string]> = [
    [String.raw`a\,b`, 'a,b'],
    [String.raw`a\ b`, 'a b'],
    [String.raw`a\=b`, 'a=b'],
    [String.raw`\,`, ','],
    [String.raw`x\\\ y`, String.raw`x\\ y`],
  ];
  await write(keys.map(([raw], i) => line({ measurement: 'field_key_400', tags: [['case', String(i)]], fields: [[raw, str('v')]], timestamp: BigInt(7000 + i) })));
  const rows = rowsByCase(await influx.query('SELECT * FROM field_key_400'));
  keys.forEach(([raw, stored], i) => assert.deepEqual(rows.get(String(i)), { time: String(7000 + i), case: String(i), [stored]: 'v' }, JSON.stringify(raw)));
});

test('numbers, booleans and nanosecond timestamps round-trip exactly', async () => {
  const big = 2n ** 53n + 1n;
  await write([
    line({
      measurement: 'numbers',
      tags: [],
      fields: [
        ['big', { type: 'integer', value: big }],
        ['max', { type: 'integer', value: 2n ** 63n - 1n }],
        ['neg', { type: 'integer', value: -42 }],
        ['whole', { type: 'float', value: 13 }],
        ['huge', { type: 'float', value: 1e21 }],
        ['tiny', { type: 'float', value: 5e-7 }],
        ['negf', { type: 'float', value: -2.25 }],
        ['nan', { type: 'float', value: Number.NaN }],
        ['inf', { type: 'float', value: Number.POSITIVE_INFINITY }],
        ['yes', { type: 'boolean', value: true }],
        ['no', { type: 'boolean', value: false }],
      ],
      timestamp: 1700000000123456789n,
    }),
    line({ measurement: 'numbers', tags: [], fields: [['neg', int(-1)]], timestamp: 1700000000123456790n }),
  ]);
  const [series] = await influx.query('SELECT * FROM numbers');
  assert.deepEqual(series?.columns, ['time', 'big', 'huge', 'max', 'neg', 'negf', 'no', 'tiny', 'whole', 'yes'], 'NaN and Infinity were skipped');
  const [first, second] = series?.values ?? [];
  assert.equal(first?.[0], '1700000000123456789');
  assert.equal(second?.[0], '1700000000123456790', 'neighbouring nanoseconds stay distinct');
  assert.deepEqual(first?.slice(2), [1e21, Number(2n ** 63n - 1n), -42, -2.25, false, 5e-7, 13, true]);

  // JSON numbers lose digits past 2^53, so the exact integers are checked in the raw response.
  const res = await fetch(`${influx.url}/query?db=tenantlens&q=${encodeURIComponent('SELECT big, "max" FROM numbers WHERE time = 1700000000123456789')}`);
  const text = await res.text();
  assert.match(text, /,9007199254740993,9223372036854775807\]/, text);

  // 13 went in as a float, not an integer: the field types say so.
  const types = await influx.query('SHOW FIELD KEYS FROM numbers');
  assert.deepEqual(Object.fromEntries(types[0]?.values.map((v) => [v[0], v[1]]) ?? []), {
    big: 'integer',
    huge: 'float',
    max: 'integer',
    neg: 'integer',
    negf: 'float',
    no: 'boolean',
    tiny: 'float',
    whole: 'float',
    yes: 'boolean',
  });
});


test('seeded fuzz: random nasty keys and values are all accepted, stored as documented, and spare their neighbours', async () => {
  // mulberry32: deterministic, so a failure names a reproducible case.
  let seed = 0x5eed;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const alphabet = ['a', 'b', BS, BS, BS, ',', ' ', '=', '"', '\n', '\t', 'ü', '😀'];
  // Prefixed so that no fuzz key can collide with `case`, `i` or `s`.
  const nasty = (): string => {
    let s = 'x';
    const n = 1 + Math.floor(random() * 7);
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(random() * alphabet.length)];
    return s;
  };
  const N = 300;
  const cases = Array.from({ length: N }, () => ({ tagKey: nasty(), tagValue: nasty(), fieldKey: nasty(), value: nasty() + '\n' + nasty() }));
  const lines: string[] = [];
  cases.forEach((c, i) => {
    const ts = BigInt(8000 + i);
    lines.push(line({ measurement: 'fuzz_tags', tags: [['case', String(i)], [c.tagKey, c.tagValue]], fields: [['i', int(i)]], timestamp: ts }));
    lines.push(line({ measurement: 'fuzz_fields', tags: [['case', String(i)]], fields: [[c.fieldKey, str(c.value)], ['i', int(i)]], timestamp: ts }));
    lines.push(line({ measurement: 'fuzz_neighbour', tags: [['case', String(i)]], fields: [['i', int(i)]], timestamp: ts }));
  });
  await write(lines);
  await assertNeighboursSurvived('fuzz_neighbour', N);

  const tags = rowsByCase(await influx.query('SELECT * FROM fuzz_tags'));
  const fields = rowsByCase(await influx.query('SELECT * FROM fuzz_fields'));
  cases.forEach((c, i) => {
    const what = `case ${i}: ${JSON.stringify(c)}`;
    const tagKey = storedTag(c.tagKey);
    const tagValue = storedTag(c.tagValue);
    assert.deepEqual(tags.get(String(i)), { time: String(8000 + i), case: String(i), i, ...(tagValue === '' ? {} : { [tagKey]: tagValue }) }, what);
    assert.deepEqual(fields.get(String(i)), { time: String(8000 + i), case: String(i), i, [storedFieldKey(c.fieldKey)]: c.value }, what);
  });
});
