/**
 * A stand-in for InfluxDB 3 Core/Enterprise, built only from its documented HTTP API: there is no
 * InfluxDB 3 server to run here. Every behaviour below cites the page it comes from; where the docs
 * leave a detail open (an error message's wording), the stand-in says so and tests must not rely
 * on the wording, only on the shape. docs/influxdb3.md lists what is checked this way.
 *
 * - POST /api/v3/write_lp (https://docs.influxdata.com/influxdb3/core/api/v3/#operation/PostWriteLP):
 *   `db` required, `precision` in auto|nanosecond|microsecond|millisecond|second, `accept_partial`
 *   (default true), `Authorization: Bearer <token>` (401 otherwise), gzip bodies, 413 past the
 *   request size limit. 204 when every line is written; 400 with
 *   `{"error":"partial write of line protocol occurred","data":[{original_line,line_number,error_message}]}`
 *   when some are refused, "write of line protocol failed" when all are, at most 100 entries
 *   (https://docs.influxdata.com/influxdb3/core/write-data/http-api/v3-write-lp/#partial-writes,
 *   https://docs.influxdata.com/influxdb3/core/write-data/troubleshoot/). With
 *   accept_partial=false nothing is written and `data` is the first error, an object.
 * - Schema rules (https://docs.influxdata.com/influxdb3/core/write-data/best-practices/schema-design/):
 *   a column's field type is fixed by its first write; a tag and a field may not share a name in a
 *   table; a table holds a time column plus at most `columnLimit` tag and field columns (500 unless
 *   set; the column limit of https://docs.influxdata.com/influxdb3/core/admin/databases/). A line
 *   that would pass the limit is refused with the others stored (the docs say only that "the write
 *   request fails"; with accept_partial the stand-in reads that per line). Core/Enterprise add new
 *   tags to a table after its first write ("Tags added after the first write are added last");
 *   `fixedTagSet` refuses them instead, as the issue reports for the compatibility endpoints.
 * - 429/503 with Retry-After and 5xx come from `failNext` (the troubleshoot page: 503 "The
 *   Retry-After header describes when to try the write again").
 * - GET /query (the v1 compatibility API): parameters in the query string, one statement per
 *   request. `SHOW FIELD KEYS FROM "t"` and `SELECT * FROM "t"` are answered from what was written
 *   (the column budget's start-up read and claim log; 1.x's type names, as v3's are undocumented);
 *   any other statement gets an empty result, enough to check how the gateway asks.
 * - GET /health: 200.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export type ColumnType = 'tag' | 'float' | 'integer' | 'uinteger' | 'string' | 'boolean';

export interface StoredRow {
  readonly table: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly fields: Readonly<Record<string, string | number | boolean>>;
  readonly time: string;
}

export interface WriteRequestSeen {
  readonly url: URL;
  readonly authorization: string | undefined;
  readonly lines: number;
  readonly status: number;
}

export interface StandinOptions {
  readonly token?: string;
  readonly columnLimit?: number;
  /** Request size limit in bytes (after decompression); default 10 MiB. */
  readonly maxBodyBytes?: number;
  readonly fixedTagSet?: boolean;
}

export interface InfluxDB3Standin {
  readonly url: string;
  /** Rows written, per database. */
  rows(db: string): StoredRow[];
  /** Column name → type of a table (tags as `tag`). */
  columns(db: string, table: string): Map<string, ColumnType>;
  /** Creates a table with these columns, as a table another writer made first. */
  seedTable(db: string, table: string, columns: Readonly<Record<string, ColumnType>>): void;
  readonly writes: WriteRequestSeen[];
  readonly queries: Array<{ readonly method: string; readonly url: URL; readonly authorization: string | undefined }>;
  /**
   * The next `times` write requests get `status` (with `Retry-After` when given) and change nothing;
   * with `afterWrites`, only once that many writes have succeeded (a failure mid-way, without racing a timer).
   */
  failNext(status: number, opts?: { retryAfter?: string; times?: number; body?: string; afterWrites?: number }): void;
  setToken(token: string): void;
  close(): Promise<void>;
}

interface ParsedLine {
  readonly table: string;
  readonly tags: Record<string, string>;
  readonly fields: Record<string, { type: Exclude<ColumnType, 'tag'>; value: string | number | boolean }>;
  readonly time: string;
}

/** Splits on newlines outside double-quoted field values (line protocol: string values may hold raw newlines). */
function lines(body: string): string[] {
  const out: string[] = [];
  let start = 0;
  let inFields = false;
  let spaces = 0;
  let quoted = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '\\') i++;
    else if (c === ' ') {
      spaces++;
      inFields = spaces === 1;
    } else if (c === '=' && inFields && body[i + 1] === '"') {
      // A string value opens with the quote right after `=`; a quote inside a field key does not.
      quoted = true;
      i++;
    }
    else if (c === '\n') {
      out.push(body.slice(start, i));
      start = i + 1;
      spaces = 0;
      inFields = false;
    }
  }
  out.push(body.slice(start));
  return out;
}

/** Reads up to an unescaped stop character; returns the unescaped text and where it stopped. */
function token(s: string, at: number, stops: string): [string, number] {
  let out = '';
  let i = at;
  for (; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\' && i + 1 < s.length) {
      out += s[++i];
      continue;
    }
    if (stops.includes(c)) break;
    out += c;
  }
  return [out, i];
}

function fieldValue(raw: string): { type: Exclude<ColumnType, 'tag'>; value: string | number | boolean } {
  if (raw.startsWith('"')) {
    if (!raw.endsWith('"') || raw.length < 2) throw new Error('invalid string field value');
    return { type: 'string', value: raw.slice(1, -1).replace(/\\(["\\])/g, '$1') };
  }
  if (/^(t|T|true|True|TRUE)$/.test(raw)) return { type: 'boolean', value: true };
  if (/^(f|F|false|False|FALSE)$/.test(raw)) return { type: 'boolean', value: false };
  if (/^-?\d+i$/.test(raw)) return { type: 'integer', value: Number(raw.slice(0, -1)) };
  if (/^\d+u$/.test(raw)) return { type: 'uinteger', value: Number(raw.slice(0, -1)) };
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) return { type: 'float', value: Number(raw) };
  throw new Error(`invalid field value ${raw}`);
}

/** Minimal line protocol: measurement[,tag=v…] field=v[,…] [timestamp]. Throws with a reason. */
function parseLine(line: string): ParsedLine {
  const [table, afterTable] = token(line, 0, ', ');
  if (table === '') throw new Error('missing measurement');
  const tags: Record<string, string> = {};
  let i = afterTable;
  while (line[i] === ',') {
    const [k, ke] = token(line, i + 1, '=, ');
    if (line[ke] !== '=') throw new Error('invalid tag set');
    const [v, ve] = token(line, ke + 1, ', ');
    if (k === '' || v === '') throw new Error('invalid tag set');
    tags[k] = v;
    i = ve;
  }
  if (line[i] !== ' ') throw new Error('missing fields');
  const fields: ParsedLine['fields'] = {};
  i++;
  for (;;) {
    const [k, ke] = token(line, i, '=, ');
    if (line[ke] !== '=' || k === '') throw new Error('No fields were provided');
    let j = ke + 1;
    if (line[j] === '"') {
      j++;
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      j++;
    } else {
      while (j < line.length && line[j] !== ',' && line[j] !== ' ') j++;
    }
    fields[k] = fieldValue(line.slice(ke + 1, j));
    i = j;
    if (line[i] !== ',') break;
    i++;
  }
  let time = '';
  if (line[i] === ' ') {
    time = line.slice(i + 1).trim();
    if (!/^-?\d+$/.test(time)) throw new Error('invalid timestamp');
  }
  return { table, tags, fields, time };
}

const IOX_TYPE: Record<Exclude<ColumnType, 'tag'>, string> = {
  float: 'iox::column_type::field::float',
  integer: 'iox::column_type::field::integer',
  uinteger: 'iox::column_type::field::uinteger',
  string: 'iox::column_type::field::string',
  boolean: 'iox::column_type::field::boolean',
};

const PRECISIONS = new Set(['auto', 'nanosecond', 'microsecond', 'millisecond', 'second']);
const MAX_LISTED = 100;

export async function startInfluxDB3Standin(opts: StandinOptions = {}): Promise<InfluxDB3Standin> {
  let token = opts.token ?? 'standin-token';
  const columnLimit = opts.columnLimit ?? 500;
  const maxBodyBytes = opts.maxBodyBytes ?? 10 * 1024 * 1024;
  const schemas = new Map<string, Map<string, Map<string, ColumnType>>>();
  const stored = new Map<string, StoredRow[]>();
  const writes: WriteRequestSeen[] = [];
  const queries: InfluxDB3Standin['queries'] = [];
  const failures: Array<{ status: number; retryAfter?: string; body?: string; afterWrites?: number }> = [];

  const tablesOf = (db: string): Map<string, Map<string, ColumnType>> => {
    let t = schemas.get(db);
    if (t === undefined) schemas.set(db, (t = new Map()));
    return t;
  };

  function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  /** Checks one line against the schema as it stands (with the lines before it applied); returns the error or the new columns. */
  function check(db: string, p: ParsedLine): string | Map<string, ColumnType> {
    const table = tablesOf(db).get(p.table);
    const adds = new Map<string, ColumnType>();
    for (const k of Object.keys(p.tags)) {
      if (k in p.fields) return `column '${k}' is used as both a tag and a field`;
      const had = table?.get(k);
      if (had !== undefined && had !== 'tag') return `invalid column type for column '${k}', expected ${IOX_TYPE[had]}, got iox::column_type::tag`;
      if (had === undefined) {
        if (opts.fixedTagSet === true && table !== undefined) return `table '${p.table}' has a fixed tag set; new tag '${k}' refused`;
        adds.set(k, 'tag');
      }
    }
    for (const [k, f] of Object.entries(p.fields)) {
      const had = table?.get(k);
      if (had === 'tag') return `invalid column type for column '${k}', expected iox::column_type::tag, got ${IOX_TYPE[f.type]}`;
      if (had !== undefined && had !== f.type) return `invalid column type for column '${k}', expected ${IOX_TYPE[had]}, got ${IOX_TYPE[f.type]}`;
      if (had === undefined) adds.set(k, f.type);
    }
    // The schema-design page: "a time column; field and tag columns up to the configured maximum".
    const columns = (table?.size ?? 0) + adds.size;
    if (adds.size > 0 && columns > columnLimit) return `Update to schema would exceed number of columns per table limit of ${columnLimit} columns`;
    return adds;
  }

  function write(req: IncomingMessage, res: ServerResponse, url: URL, raw: Buffer): void {
    const authorization = req.headers.authorization;
    const seen = (status: number, n: number): void => void writes.push({ url, authorization, lines: n, status });
    if (authorization !== `Bearer ${token}`) {
      seen(401, 0);
      return json(res, 401, { error: 'the request was not authenticated' });
    }
    const db = url.searchParams.get('db');
    const precision = url.searchParams.get('precision') ?? 'auto';
    const acceptPartial = url.searchParams.get('accept_partial') !== 'false';
    if (db === null || db === '' || !PRECISIONS.has(precision)) {
      seen(400, 0);
      return json(res, 400, { error: db === null || db === '' ? 'missing db' : `invalid precision ${precision}` });
    }
    const due = failures[0] !== undefined && writes.filter((w) => w.status === 204).length >= (failures[0].afterWrites ?? 0);
    const failure = due ? failures.shift() : undefined;
    if (failure !== undefined) {
      seen(failure.status, 0);
      res.writeHead(failure.status, { 'content-type': 'application/json', ...(failure.retryAfter === undefined ? {} : { 'retry-after': failure.retryAfter }) });
      res.end(failure.body ?? JSON.stringify({ error: `stand-in: scripted ${failure.status}` }));
      return;
    }
    let bodyBytes = raw;
    if (req.headers['content-encoding'] === 'gzip') bodyBytes = gunzipSync(raw);
    if (bodyBytes.length > maxBodyBytes) {
      seen(413, 0);
      return json(res, 413, { error: 'Request entity too large' });
    }
    const text = bodyBytes.toString('utf8');
    const all = lines(text)
      .map((l, i) => ({ l, n: i + 1 }))
      .filter((x) => x.l.trim() !== '');
    const errors: Array<{ original_line: string; line_number: number; error_message: string }> = [];
    const accepted: ParsedLine[] = [];
    // Schema changes apply line by line, so a later line sees the columns an earlier one added.
    const staged = new Map<string, Map<string, ColumnType>>();
    const tables = tablesOf(db);
    for (const { l, n } of all) {
      let p: ParsedLine;
      try {
        p = parseLine(l);
      } catch (err) {
        errors.push({ original_line: l, line_number: n, error_message: (err as Error).message });
        continue;
      }
      const r = check(db, p);
      if (typeof r === 'string') {
        errors.push({ original_line: l, line_number: n, error_message: r });
        continue;
      }
      if (acceptPartial) {
        let t = tables.get(p.table);
        if (t === undefined) tables.set(p.table, (t = new Map()));
        for (const [k, v] of r) t.set(k, v);
      } else {
        let t = staged.get(p.table);
        if (t === undefined) staged.set(p.table, (t = new Map()));
        for (const [k, v] of r) t.set(k, v);
      }
      accepted.push(p);
    }
    if (!acceptPartial && errors.length > 0) {
      seen(400, all.length);
      return json(res, 400, { error: 'parsing failed for write_lp endpoint', data: errors[0] });
    }
    for (const [name, cols] of staged) {
      let t = tables.get(name);
      if (t === undefined) tables.set(name, (t = new Map()));
      for (const [k, v] of cols) t.set(k, v);
    }
    let rows = stored.get(db);
    if (rows === undefined) stored.set(db, (rows = []));
    for (const p of accepted) {
      rows.push({ table: p.table, tags: p.tags, fields: Object.fromEntries(Object.entries(p.fields).map(([k, f]) => [k, f.value])), time: p.time });
    }
    if (errors.length === 0) {
      seen(204, all.length);
      res.writeHead(204).end();
      return;
    }
    seen(400, all.length);
    json(res, 400, {
      error: accepted.length > 0 ? 'partial write of line protocol occurred' : 'write of line protocol failed',
      data: errors.slice(0, MAX_LISTED),
    });
  }

  function query(req: IncomingMessage, res: ServerResponse, url: URL): void {
    queries.push({ method: req.method ?? '', url, authorization: req.headers.authorization });
    const auth = req.headers.authorization;
    if (auth !== `Bearer ${token}` && auth !== `Token ${token}`) return json(res, 401, { error: 'the request was not authenticated' });
    const q = url.searchParams.get('q');
    if (q === null) return json(res, 400, { error: 'missing query parameters' });
    // Statements separated by `;` outside quotes: more than one is refused.
    const statements = q.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, '').split(';').filter((s) => s.trim() !== '');
    if (statements.length !== 1) return json(res, 400, { error: 'InfluxQL query must contain a single statement' });
    const db = url.searchParams.get('db') ?? '';
    // Two statements are answered from what was written, in the v1 shape (`epoch=u`): what the
    // gateway's column budget reads. Everything else gets an empty result.
    const m = /^\s*(SHOW FIELD KEYS FROM|SELECT \* FROM)\s+"((?:[^"\\]|\\.)*)"\s*$/i.exec(q);
    const table = m === null ? undefined : (m[2] as string).replace(/\\(.)/g, '$1');
    const schema = table === undefined ? undefined : tablesOf(db).get(table);
    if (m === null || table === undefined || schema === undefined) return json(res, 200, { results: [{ statement_id: 0 }] });
    if (/^\s*SHOW/i.test(m[1] as string)) {
      // The type names are 1.x's: InfluxDB 3's answer to SHOW FIELD KEYS is not documented.
      const values = [...schema].filter(([, t]) => t !== 'tag').map(([k, t]) => [k, t === 'uinteger' ? 'unsigned' : t]);
      return json(res, 200, { results: [{ statement_id: 0, series: [{ name: table, columns: ['fieldKey', 'fieldType'], values }] }] });
    }
    const columns = ['time', ...[...schema.keys()].sort()];
    const values = (stored.get(db) ?? [])
      .filter((r) => r.table === table)
      .map((r) => columns.map((c) => (c === 'time' ? Math.trunc(Number(BigInt(r.time === '' ? '0' : r.time) / 1000n)) : (r.tags[c] ?? r.fields[c] ?? null))));
    json(res, 200, { results: [{ statement_id: 0, series: [{ name: table, columns, values }] }] });
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://standin');
      if (req.method === 'POST' && url.pathname === '/api/v3/write_lp') return write(req, res, url, Buffer.concat(chunks));
      if (url.pathname === '/query') return query(req, res, url);
      if (req.method === 'GET' && url.pathname === '/health') return void res.writeHead(200).end('OK');
      json(res, 404, { error: 'not found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    rows: (db) => [...(stored.get(db) ?? [])],
    columns: (db, table) => new Map(tablesOf(db).get(table) ?? []),
    seedTable(db, table, columns) {
      tablesOf(db).set(table, new Map(Object.entries(columns)));
    },
    writes,
    queries,
    failNext(status, o = {}) {
      for (let i = 0; i < (o.times ?? 1); i++) failures.push({ status, retryAfter: o.retryAfter, body: o.body, afterWrites: o.afterWrites });
    },
    setToken(t) {
      token = t;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
