import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldValue, Point } from '../src/schema/point.ts';
import {
  encodeFieldValue,
  encodeFields,
  encodeLine,
  encodeSeriesKey,
  escapeFieldKey,
  escapeKey,
  escapeMeasurement,
  escapeStringValue,
} from '../src/influx/line-protocol.ts';

// The expected outputs below are what influxd 1.6.7 parses back into the intended value (see
// test/line-protocol-influxd.test.ts), written out by hand rather than derived from the encoder.
interface EscapeCase {
  readonly name: string;
  readonly raw: string;
  readonly measurement: string;
  /** Tag keys and tag values share one escaping. */
  readonly tag: string;
  readonly fieldKey: string;
  /** Inside the double quotes. */
  readonly stringValue: string;
}

const BS = '\\';

const ESCAPES: readonly EscapeCase[] = [
  { name: 'plain', raw: 'cpu_load', measurement: 'cpu_load', tag: 'cpu_load', fieldKey: 'cpu_load', stringValue: 'cpu_load' },
  { name: 'space', raw: 'a b', measurement: String.raw`a\ b`, tag: String.raw`a\ b`, fieldKey: String.raw`a\ b`, stringValue: 'a b' },
  { name: 'comma', raw: 'a,b', measurement: String.raw`a\,b`, tag: String.raw`a\,b`, fieldKey: String.raw`a\,b`, stringValue: 'a,b' },
  // A measurement name ends at a comma or space only, so `=` needs no escape there.
  { name: 'equals sign', raw: 'a=b', measurement: 'a=b', tag: String.raw`a\=b`, fieldKey: String.raw`a\=b`, stringValue: 'a=b' },
  {
    name: 'double quotes',
    raw: 'say "hi"',
    measurement: String.raw`say\ "hi"`,
    tag: String.raw`say\ "hi"`,
    fieldKey: String.raw`say\ "hi"`,
    stringValue: String.raw`say \"hi\"`,
  },
  { name: 'backslash inside', raw: String.raw`C:\dir`, measurement: String.raw`C:\dir`, tag: String.raw`C:\dir`, fieldKey: String.raw`C:\dir`, stringValue: String.raw`C:\\dir` },
  // A trailing backslash would escape the separator after it: dropped everywhere but in strings.
  { name: 'trailing backslash', raw: 'end' + BS, measurement: 'end', tag: 'end', fieldKey: 'end', stringValue: 'end' + BS + BS },
  { name: 'several trailing backslashes', raw: 'end' + BS.repeat(3), measurement: 'end', tag: 'end', fieldKey: 'end', stringValue: 'end' + BS.repeat(6) },
  { name: 'only backslashes', raw: BS + BS, measurement: '', tag: '', fieldKey: '', stringValue: BS.repeat(4) },
  // Control characters become the two characters `\n`, `\r`, `\t` outside strings (influxd keeps them so).
  { name: 'newline', raw: 'a\nb', measurement: String.raw`a\nb`, tag: String.raw`a\nb`, fieldKey: String.raw`a\nb`, stringValue: 'a\nb' },
  { name: 'carriage return', raw: 'a\rb', measurement: String.raw`a\rb`, tag: String.raw`a\rb`, fieldKey: String.raw`a\rb`, stringValue: 'a\rb' },
  { name: 'tab', raw: 'a\tb', measurement: String.raw`a\tb`, tag: String.raw`a\tb`, fieldKey: String.raw`a\tb`, stringValue: 'a\tb' },
  { name: 'unicode and emoji', raw: 'Grüße 😀', measurement: 'Grüße\\ 😀', tag: 'Grüße\\ 😀', fieldKey: 'Grüße\\ 😀', stringValue: 'Grüße 😀' },
  // A backslash right before an escaped character: influxd's line splitter and field scanner read
  // `\\` as an escaped backslash, its tag scanner does not. Tags keep `\,` and `\=` exactly; before a
  // space (tags) or before any separator (field keys, measurements) one backslash is dropped.
  { name: 'backslash before comma', raw: String.raw`a\,b`, measurement: String.raw`a\,b`, tag: String.raw`a\\,b`, fieldKey: String.raw`a\,b`, stringValue: String.raw`a\\,b` },
  { name: 'backslash before space', raw: String.raw`a\ b`, measurement: String.raw`a\ b`, tag: String.raw`a\ b`, fieldKey: String.raw`a\ b`, stringValue: String.raw`a\\ b` },
  { name: 'backslash before equals', raw: String.raw`a\=b`, measurement: 'a=b', tag: String.raw`a\\=b`, fieldKey: String.raw`a\=b`, stringValue: String.raw`a\\=b` },
  // An even run of backslashes is unambiguous and kept.
  {
    name: 'two backslashes before space',
    raw: String.raw`a\\ b`,
    measurement: String.raw`a\\\ b`,
    tag: String.raw`a\\\ b`,
    fieldKey: String.raw`a\\\ b`,
    stringValue: String.raw`a\\\\ b`,
  },
  // influxd unescapes `\"` in field keys only, so the field key gets one more backslash.
  { name: 'backslash before quote', raw: String.raw`a\"b`, measurement: String.raw`a\"b`, tag: String.raw`a\"b`, fieldKey: String.raw`a\\"b`, stringValue: String.raw`a\\\"b` },
  { name: 'leading separators', raw: ',= x', measurement: String.raw`\,=\ x`, tag: String.raw`\,\=\ x`, fieldKey: String.raw`\,\=\ x`, stringValue: ',= x' },
];

for (const c of ESCAPES) {
  test(`escaping: ${c.name}`, () => {
    assert.equal(escapeMeasurement(c.raw), c.measurement, 'measurement');
    assert.equal(escapeKey(c.raw), c.tag, 'tag key / tag value');
    assert.equal(escapeFieldKey(c.raw), c.fieldKey, 'field key');
    assert.equal(escapeStringValue(c.raw), c.stringValue, 'string field value');
    assert.equal(encodeFieldValue({ type: 'string', value: c.raw }), `"${c.stringValue}"`, 'quoted string field');
  });
}

test('escaping: nothing outside a key or tag section ends the line', () => {
  // No encoded key, tag or measurement may contain a raw line break or an unescaped separator.
  for (const c of ESCAPES) {
    for (const out of [c.measurement, c.tag, c.fieldKey]) {
      assert.doesNotMatch(out, /[\n\r\t]/, `${c.name}: ${JSON.stringify(out)}`);
      assert.doesNotMatch(out, /\\$/, `${c.name}: trailing backslash in ${JSON.stringify(out)}`);
    }
  }
});

test('a whole line puts every escaped part in its place', () => {
  const line = encodeLine({
    measurement: 'web vitals',
    tags: [
      ['tenant id', 'acme,inc'],
      ['view', 'a=b'],
    ],
    fields: [
      ['load time', { type: 'float', value: 1.5 }],
      ['note', { type: 'string', value: 'he said "hi"\\' }],
    ],
    timestamp: 1700000000123456789n,
  });
  assert.equal(line, String.raw`web\ vitals,tenant\ id=acme\,inc,view=a\=b load\ time=1.5,note="he said \"hi\"\\" 1700000000123456789`);
});

test('series key: tags in the order given, empty values omitted', () => {
  const cases: Array<{ name: string; tags: Point['tags']; expected: string }> = [
    { name: 'no tags', tags: [], expected: 'm' },
    { name: 'order as given (the mapper sorts)', tags: [['z', '1'], ['a', '2'], ['m', '3']], expected: 'm,z=1,a=2,m=3' },
    { name: 'empty value omitted', tags: [['a', ''], ['b', 'x'], ['c', '']], expected: 'm,b=x' },
    { name: 'value that escapes to nothing omitted', tags: [['a', BS], ['b', 'x']], expected: 'm,b=x' },
    { name: 'key that escapes to nothing omitted', tags: [[BS + BS, 'v'], ['b', 'x']], expected: 'm,b=x' },
    { name: 'all values empty', tags: [['a', ''], ['b', '']], expected: 'm' },
    { name: 'escaped key and value', tags: [['k k', 'v,v']], expected: String.raw`m,k\ k=v\,v` },
  ];
  for (const c of cases) assert.equal(encodeSeriesKey('m', c.tags), c.expected, c.name);
});

test('field values: integers, floats, strings, booleans', () => {
  const cases: Array<{ name: string; value: FieldValue; expected: string | undefined }> = [
    { name: 'integer', value: { type: 'integer', value: 42 }, expected: '42i' },
    { name: 'negative integer', value: { type: 'integer', value: -7 }, expected: '-7i' },
    { name: 'zero integer', value: { type: 'integer', value: 0 }, expected: '0i' },
    { name: 'bigint integer', value: { type: 'integer', value: 12n }, expected: '12i' },
    // 2^53 + 1 is not a double; a Number conversion anywhere would print ...992.
    { name: 'bigint above 2^53', value: { type: 'integer', value: 2n ** 53n + 1n }, expected: '9007199254740993i' },
    { name: 'int64 max', value: { type: 'integer', value: 2n ** 63n - 1n }, expected: '9223372036854775807i' },
    { name: 'int64 min', value: { type: 'integer', value: -(2n ** 63n) }, expected: '-9223372036854775808i' },
    { name: 'whole float stays a float (no i suffix)', value: { type: 'float', value: 13 }, expected: '13' },
    { name: 'fractional float', value: { type: 'float', value: 0.1 }, expected: '0.1' },
    { name: 'negative float', value: { type: 'float', value: -2.25 }, expected: '-2.25' },
    { name: 'large float', value: { type: 'float', value: 1e21 }, expected: '1e+21' },
    { name: 'small float', value: { type: 'float', value: 5e-7 }, expected: '5e-7' },
    { name: 'NaN', value: { type: 'float', value: Number.NaN }, expected: undefined },
    { name: '+Infinity', value: { type: 'float', value: Number.POSITIVE_INFINITY }, expected: undefined },
    { name: '-Infinity', value: { type: 'float', value: Number.NEGATIVE_INFINITY }, expected: undefined },
    { name: 'empty string', value: { type: 'string', value: '' }, expected: '""' },
    { name: 'true', value: { type: 'boolean', value: true }, expected: 'true' },
    { name: 'false', value: { type: 'boolean', value: false }, expected: 'false' },
  ];
  for (const c of cases) assert.equal(encodeFieldValue(c.value), c.expected, c.name);
  // The float forms must read back as the same number.
  for (const c of cases) {
    if (c.value.type === 'float' && c.expected !== undefined) assert.equal(Number(c.expected), c.value.value, c.name);
  }
});

test('fields: unencodable values and keys are skipped, the rest kept in order', () => {
  const nan: FieldValue = { type: 'float', value: Number.NaN };
  const inf: FieldValue = { type: 'float', value: Number.POSITIVE_INFINITY };
  const one: FieldValue = { type: 'integer', value: 1 };
  const cases: Array<{ name: string; fields: Point['fields']; expected: string }> = [
    { name: 'order kept', fields: [['b', one], ['a', { type: 'boolean', value: false }]], expected: 'b=1i,a=false' },
    { name: 'NaN skipped', fields: [['a', nan], ['b', one]], expected: 'b=1i' },
    { name: 'Infinity skipped between others', fields: [['a', one], ['b', inf], ['c', one]], expected: 'a=1i,c=1i' },
    { name: 'empty key skipped', fields: [['', one], ['b', one]], expected: 'b=1i' },
    { name: 'key of only backslashes skipped', fields: [[BS, one], ['b', one]], expected: 'b=1i' },
    { name: 'nothing encodable', fields: [['a', nan], ['b', inf]], expected: '' },
    { name: 'no fields', fields: [], expected: '' },
  ];
  for (const c of cases) assert.equal(encodeFields(c.fields), c.expected, c.name);
});

test('encodeLine: a point with no encodable field is undefined', () => {
  const base = { measurement: 'm', tags: [['t', 'v']] as const, timestamp: 1n };
  assert.equal(encodeLine({ ...base, fields: [] }), undefined);
  assert.equal(encodeLine({ ...base, fields: [['a', { type: 'float', value: Number.NaN }]] }), undefined);
  assert.equal(encodeLine({ ...base, fields: [['a', { type: 'float', value: Number.NEGATIVE_INFINITY }]] }), undefined);
  assert.equal(encodeLine({ ...base, fields: [['', { type: 'integer', value: 1 }]] }), undefined);
  assert.equal(encodeLine({ ...base, fields: [['a', { type: 'integer', value: 1 }]] }), 'm,t=v a=1i 1');
});

test('encodeLine: nanosecond timestamps are printed exactly', () => {
  const timestamps = [1n, 1700000000123456789n, 1700000000123456790n, 9223372036854775806n, 2n ** 53n + 1n];
  for (const ts of timestamps) {
    const line = encodeLine({ measurement: 'm', tags: [], fields: [['f', { type: 'integer', value: 1 }]], timestamp: ts });
    assert.equal(line, `m f=1i ${ts.toString()}`);
  }
  // These values are not doubles: an encoder that went through Number would print other digits.
  assert.notEqual(BigInt(Number(1700000000123456789n)), 1700000000123456789n);
  const point: Point = { measurement: 'm', tags: [], fields: [['f', { type: 'integer', value: 1 }]], timestamp: 5n };
  assert.equal(encodeLine(point, 1700000000123456790n), 'm f=1i 1700000000123456790', 'explicit timestamp overrides the point’s');
});
