import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeLine } from '../src/influx/line-protocol.ts';
import { splitLines } from '../src/influx/line-split.ts';
import { createRefusalLog, refusalReason } from '../src/influx/refusal-reasons.ts';
import { MAX_LISTED_LINES, refusalOutcome, UNLISTED_REASON } from '../src/influx/v3-transport.ts';
import { splitStatements } from '../src/query/influxql.ts';

test('refusalReason: names, values and numbers out, so the label set stays bounded', () => {
  const table: Array<[string, string]> = [
    [
      "invalid column type for column 'temp', expected iox::column_type::field::float, got iox::column_type::field::string",
      "invalid column type for column '?', expected iox::column_type::field::float, got iox::column_type::field::string",
    ],
    ['Update to schema would exceed number of columns per table limit of 500 columns', 'Update to schema would exceed number of columns per table limit of N columns'],
    ['partial write: field type conflict: input field "x" on measurement "spans" is type string dropped=3', "partial write: field type conflict: input field '?' on measurement '?' is type string dropped=N"],
    ['  ', 'unknown'],
  ];
  for (const [message, reason] of table) assert.equal(refusalReason(message), reason);
  assert.ok(refusalReason('x'.repeat(500)).length <= 120);
});

test('createRefusalLog: counts per reason, logs the first named line of each once, folds reasons past the cap into other', () => {
  const counted: Array<[string, number]> = [];
  const logged: Array<[string, string]> = [];
  const log = createRefusalLog({ count: (r, n) => counted.push([r, n]), firstOfReason: (r, l) => logged.push([r, l]) }, 2);
  log.record('batch', 3, [
    { reason: 'a', lines: 2, firstLine: 'a1', message: 'A' },
    { reason: 'b', lines: 1, firstLine: 'b1', message: 'B' },
  ]);
  log.record('batch', 2, [{ reason: 'a', lines: 1, firstLine: 'a2', message: 'A' }, { reason: 'c', lines: 1, firstLine: 'c1', message: 'C' }]);
  log.record('v1 message "x"', 4, []);
  assert.deepEqual(counted, [['a', 2], ['b', 1], ['a', 1], ['other', 1], ['other', 4]]);
  assert.deepEqual(logged, [['a', 'a1'], ['b', 'b1'], ['other', 'c1']]);
});

test('splitLines: a newline ends a line only outside a quoted field value', () => {
  const body = ['m,t=a\\ b f="x\ny",g=1i 1', 'm,t="q f=2i 2', 'm f="a\\"\n\\\\" 3', 'm f=1'].join('\n');
  assert.deepEqual(splitLines(body), ['m,t=a\\ b f="x\ny",g=1i 1', 'm,t="q f=2i 2', 'm f="a\\"\n\\\\" 3', 'm f=1']);
  assert.deepEqual(splitLines(''), []);
});

test('splitLines recovers exactly the lines the encoder wrote, whatever the keys and values hold (property)', () => {
  // Every character the escapers treat specially, plus multi-byte ones.
  const nasty = fc.string({ unit: fc.constantFrom('a', 'b', ' ', ',', '=', '"', '\\', '\n', '\r', '\t', 'é', '😀'), minLength: 1, maxLength: 8 });
  const point = fc.record({ m: nasty, tk: nasty, tv: nasty, fk: nasty, fv: nasty, ik: nasty });
  fc.assert(
    fc.property(fc.array(point, { minLength: 1, maxLength: 20 }), (points) => {
      const lines = points.flatMap((p) => {
        const l = encodeLine({
          measurement: p.m,
          tags: [[p.tk, p.tv]],
          fields: [
            [p.fk, { type: 'string', value: p.fv }],
            [p.ik, { type: 'integer', value: 1 }],
          ],
          timestamp: 1n,
        });
        return l === undefined ? [] : [l];
      });
      assert.deepEqual(splitLines(lines.join('\n')), lines);
    }),
    { numRuns: 300, seed: 18 },
  );
});

test('refusalOutcome: the documented partial-write and all-refused bodies', () => {
  const partial = JSON.stringify({
    error: 'partial write of line protocol occurred',
    data: [{ original_line: 'home,room=Sunroom temp=hi 1735549200', line_number: 2, error_message: "invalid column type for column 'temp', expected iox::column_type::field::float, got iox::column_type::field::string" }],
  });
  const o = refusalOutcome(400, partial, 2);
  assert.equal(o.kind, 'failure');
  if (o.kind !== 'failure') return;
  assert.equal(o.rejectedLines, 1);
  assert.deepEqual(o.refused?.map((r) => [r.lines, r.firstLine]), [[1, 'home,room=Sunroom temp=hi 1735549200']]);

  // accept_partial=false: `data` is one object, nothing was written.
  const whole = refusalOutcome(400, JSON.stringify({ error: 'parsing failed for write_lp endpoint', data: { original_line: 'x', line_number: 2, error_message: 'No fields were provided' } }), 5);
  assert.equal(whole.kind === 'failure' && whole.rejectedLines, 5);
  assert.deepEqual(whole.kind === 'failure' && whole.refused?.map((r) => [r.reason, r.lines]), [['No fields were provided', 1], [UNLISTED_REASON, 4]]);

  // A partial write listing the cap: lines after the last listed one are counted as refused (an upper bound).
  const data = Array.from({ length: MAX_LISTED_LINES }, (_, i) => ({ original_line: `l${i}`, line_number: i * 2 + 1, error_message: 'bad' }));
  const capped = refusalOutcome(400, JSON.stringify({ error: 'partial write of line protocol occurred', data }), 500);
  assert.equal(capped.kind === 'failure' && capped.rejectedLines, MAX_LISTED_LINES + (500 - 199));

  // No JSON, or another status: the batch is refused as a whole, under the body's message.
  const other = refusalOutcome(422, 'unprocessable', 3);
  assert.deepEqual(other.kind === 'failure' && [other.rejectedLines, other.refused?.[0]?.reason], [3, 'unprocessable']);
});

test('splitStatements: `;` outside string literals and quoted identifiers', () => {
  assert.deepEqual(splitStatements(`SELECT "a;b" FROM "m" WHERE x = 'it\\'s; fine'; SHOW FIELD KEYS FROM "n";`), [
    `SELECT "a;b" FROM "m" WHERE x = 'it\\'s; fine'`,
    'SHOW FIELD KEYS FROM "n"',
  ]);
});
