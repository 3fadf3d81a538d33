import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpTransport, createRetryingTransport } from '../src/alerts/notify/transport.ts';
import { backoffMillis, retryDelayMillis } from '../src/delivery/backoff.ts';
import { isRetryableHttpStatus } from '../src/delivery/outcome.ts';
import { parseRetryAfter } from '../src/delivery/retry-after.ts';
import { isRetryableStatus } from '../src/influx/transport.ts';

const NOW = Date.parse('2015-10-21T07:27:30Z');

/** [header, milliseconds or undefined, why]: every reader of Retry-After goes through this one parser. */
const RETRY_AFTER: ReadonlyArray<readonly [string | null | undefined, number | undefined, string]> = [
  ['1', 1_000, 'delta-seconds'],
  ['0', 0, 'zero is "now" (callers put their own floor under it)'],
  [' 120 ', 120_000, 'surrounding whitespace'],
  ['86400', 86_400_000, 'a day'],
  ['1.5', 1_500, 'a fraction is seconds, not a date in 2001 (the notifier retried at once)'],
  ['0.0004', 1, 'a fraction rounds up to the next millisecond'],
  ['2.25', 2_250, 'another fraction'],
  ['Wed, 21 Oct 2015 07:28:00 GMT', 30_000, 'IMF-fixdate'],
  ['Wednesday, 21-Oct-15 07:28:00 GMT', 30_000, 'obsolete RFC 850 date'],
  ['Wed Oct 21 07:28:00 2015', 30_000, 'asctime date'],
  ['Wed, 21 Oct 2015 07:27:00 GMT', 0, 'a date in the past means now'],
  [undefined, undefined, 'absent'],
  [null, undefined, 'absent (fetch Headers.get)'],
  ['', undefined, 'empty'],
  ['   ', undefined, 'blank'],
  ['soon', undefined, 'a word'],
  ['5s', undefined, 'a unit'],
  ['1e3', undefined, 'exponent notation (Date.parse reads it as a year)'],
  ['-1', undefined, 'negative (Date.parse reads it as a date in 2001)'],
  ['.5', undefined, 'no digit before the point'],
  ['1.', undefined, 'no digit after the point'],
  ['1.5.2', undefined, 'two points'],
  ['abc 1', undefined, 'Date.parse accepts it'],
  ['Monday soon', undefined, 'a day name and nonsense'],
  ['9'.repeat(400), undefined, 'too big to be a delay'],
];

test('parseRetryAfter: delta-seconds, fractions, HTTP dates; nonsense is undefined (the caller backs off)', () => {
  for (const [header, want, why] of RETRY_AFTER) assert.equal(parseRetryAfter(header, NOW), want, `Retry-After: ${JSON.stringify(header)} (${why})`);
});

test('backoffMillis: full jitter in [0, min(max, initial × 2^attempt)]', () => {
  const policy = { initialMillis: 250, maxMillis: 30_000 };
  const table: ReadonlyArray<readonly [number, number, number]> = [
    // attempt, random draw, milliseconds
    [0, 0, 0],
    [0, 0.5, 125],
    [0, 0.999_999, 250],
    [3, 0.5, 1_000],
    [7, 0.999_999, 30_000], // 250 × 128 = 32 000, capped at 30 000
    [7, 0.5, 15_000],
    [1_000, 0.999_999, 30_000], // huge attempts neither overflow nor pass the cap
    [-1, 0.999_999, 250], // a negative attempt is the first
  ];
  for (const [attempt, r, want] of table) assert.equal(backoffMillis(attempt, policy, () => r), want, `attempt ${attempt}, random ${r}`);
  for (let attempt = 0; attempt <= 40; attempt++) {
    for (const maxMillis of [10, 1_000, 30_000, 3_600_000]) {
      const ceiling = Math.min(maxMillis, 250 * 2 ** attempt);
      for (const r of [0, 0.1, 0.5, 0.9, 0.999_999]) {
        const d = backoffMillis(attempt, { initialMillis: 250, maxMillis }, () => r);
        assert.ok(Number.isInteger(d) && d >= 0 && d <= ceiling, `attempt ${attempt}, max ${maxMillis}, random ${r}: ${d} outside [0, ${ceiling}]`);
      }
    }
  }
});

test('retryDelayMillis: Retry-After first, else backoff; the floor always, the cap on Retry-After only when asked', () => {
  const writer = { initialMillis: 250, maxMillis: 30_000, minMillis: 100 };
  const notifier = { initialMillis: 1_000, maxMillis: 30_000, capRetryAfter: true };
  const table: ReadonlyArray<readonly [string, number | undefined, number, typeof writer | typeof notifier, number]> = [
    // why, Retry-After, attempt, policy, milliseconds (random draw 0.5)
    ['writer: Retry-After honoured as sent', 1_500, 0, writer, 1_500],
    ['writer: Retry-After past the backoff cap still honoured', 3_000_000, 5, writer, 3_000_000],
    ['writer: Retry-After 0 is never a hot loop', 0, 0, writer, 100],
    ['writer: backoff', undefined, 2, writer, 500],
    ['writer: a zero draw is floored', undefined, 0, { ...writer, initialMillis: 100 }, 100],
    ['notifier: Retry-After capped at maxMillis', 60_000, 0, notifier, 30_000],
    ['notifier: Retry-After of 1.5 s', 1_500, 0, notifier, 1_500],
    ['notifier: backoff', undefined, 1, notifier, 1_000],
  ];
  for (const [why, retryAfter, attempt, policy, want] of table) assert.equal(retryDelayMillis(retryAfter, attempt, policy, () => 0.5), want, why);
});

test('retryable statuses: 408, 429 and 5xx for every receiver; InfluxDB adds the live-fixable 401/403/404', () => {
  for (const s of [408, 429, 500, 502, 503, 504]) {
    assert.equal(isRetryableHttpStatus(s), true, String(s));
    assert.equal(isRetryableStatus(s), true, String(s));
  }
  for (const s of [401, 403, 404]) {
    assert.equal(isRetryableHttpStatus(s), false, String(s));
    assert.equal(isRetryableStatus(s), true, String(s));
  }
  for (const s of [200, 204, 400, 405, 413, 415, 422]) {
    assert.equal(isRetryableHttpStatus(s), false, String(s));
    assert.equal(isRetryableStatus(s), false, String(s));
  }
});

test('the alert notifier waits 1.5 s for `Retry-After: 1.5`, not 0 (it read the header as a date in 2001)', async () => {
  let calls = 0;
  const server = createServer((req, res) => {
    req.resume();
    calls++;
    if (calls === 1) res.writeHead(503, { 'retry-after': '1.5' }).end('busy');
    else res.writeHead(200).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const first = await createHttpTransport({ url }).send('{}');
    assert.equal(first.kind, 'retryable');
    assert.equal(first.kind === 'retryable' ? first.retryAfterMillis : undefined, 1_500);
    const slept: number[] = [];
    const retrying = createRetryingTransport({ transport: createHttpTransport({ url }), sleep: async (ms) => void slept.push(ms) });
    calls = 0;
    assert.deepEqual(await retrying.send('{}'), { kind: 'success' });
    assert.deepEqual(slept, [1_500]);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
