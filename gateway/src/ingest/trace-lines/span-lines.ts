import type { FieldType, FieldValue } from '../../schema/point.ts';
import { encodeOverflow } from '../../mapping/overflow-json.ts';
import { OVERFLOW_FIELD } from '../../schema/measurements.ts';
import { escapeKey, escapeMeasurement, escapeStringValue } from '../../influx/line-protocol.ts';
import type { SlotScope, TimestampSlots } from '../../influx/point-identity.ts';
import { ownerOfBytes, type SlotOwner } from '../../influx/slot-owner.ts';
import { splitU64, nanosDecimal, spreadNanos, spreadOffsetOfBytes, type SplitTime } from '../../influx/timestamps.ts';
import type { MappingRules } from '../../mapping/rules.ts';
import { TraceIndexRows } from '../../mapping/trace-index-rows.ts';
import type { AttributeLimits } from '../../otlp/limits.ts';
import { SPAN_KIND_NAMES } from '../../otlp/model.ts';
import type { Reader } from '../../otlp/wire.ts';
import type { SpanObservation } from '../../rollup/observation.ts';
import { SLOT } from '../../schema/attributes.ts';
import { OVERFLOW, type AttributeKeys, type Canon } from './attribute-keys.ts';
import type { LineBuffer } from './line-buffer.ts';
import { SpanFields } from './span-fields.ts';
import { FIELD_TYPES, V_BOOL, V_DOUBLE, V_INT, V_JSON, V_STRING, type SpanValues } from './span-values.ts';

/**
 * Span assembly: one `Span` message (trace/v1) → its frontend_performance, backend_api_latency and
 * spans lines, exactly as map-spans.ts maps it and point-identity.ts encodes it. The wire fields are
 * read into a `SpanFields` (span-fields.ts: positions in the request), checked against what the
 * reference path refuses (then the request is handed back), and written by the LineBuffer.
 */

/** The scope of the spans being written: its name's bytes, or none. */
export interface ScopeName {
  start: number;
  end: number;
}

export interface SpanLinesOptions {
  readonly rules: MappingRules;
  readonly slots: TimestampSlots;
  readonly instanceName: string;
  readonly limits: AttributeLimits;
  /** Collect each frontend and backend duration for the rollups (`observations`). */
  readonly observe?: boolean | undefined;
  /** Write the trace and session index after the request's lines (map-spans.ts `traceIndex`). */
  readonly traceIndex?: boolean;
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

export class SpanLines {
  /** Spans written in the current request. */
  spans = 0;
  /** Field type conflicts met in the current request, counted once it is taken. */
  conflicts: Array<[string, FieldType]> = [];
  /** The current request's durations for the rollups (with `observe`), taken once the request is. */
  observations: SpanObservation[] = [];
  private readonly observe: boolean;
  private tenant = '';
  /** Attributes written into the overflow field in the current request, counted once it is taken. */
  overflowed = 0;
  /** The current span's attributes without a column: (key, value index) pairs. */
  private readonly overflow: Array<Canon | number> = [];
  private tenantTag: Buffer = Buffer.alloc(0);
  private tenantTagText = '';
  private lastTenant: string | undefined;
  /** The request's index rows, or undefined without the index. */
  private readonly index: TraceIndexRows | undefined;

  /** The current span: its wire fields, its id as a slot owner, and its start (spread, split). */
  private readonly f = new SpanFields();
  private readonly owner: SlotOwner = { hi: 0, lo: 0 };
  private readonly time: SplitTime = { top: 0, ns: 0 };
  /** A line's timestamp: the span's start, moved by the slot index if its slot is taken. */
  private readonly lineTime: SplitTime = { top: 0, ns: 0 };

  private readonly rules: MappingRules;
  private readonly slots: TimestampSlots;
  private readonly countLimit: number;
  private readonly scopes: { readonly frontend: SlotScope; readonly backend: SlotScope; readonly spans: SlotScope };
  private readonly prefix: { readonly frontend: Buffer; readonly backend: Buffer; readonly spans: Buffer };
  private readonly instanceValue: Buffer;
  private readonly kindTags: readonly Buffer[];
  private readonly K = {
    actionName: utf8(',action_name='),
    serviceName: utf8(',service_name='),
    sessionId: utf8(',session_id='),
    viewName: utf8(',view_name='),
    endpoint: utf8(',endpoint='),
    httpMethod: utf8(',http_method='),
    statusCode: utf8(',status_code='),
    durationMs: utf8(' duration_ms='),
    elementCount: utf8(',element_count='),
    latencyMs: utf8(' latency_ms='),
    traceIdFirst: utf8(' trace_id="'),
    traceId: utf8(',trace_id="'),
    spanId: utf8('",span_id="'),
    parentSpanId: utf8('",parent_span_id="'),
    name: utf8('",name='),
    durationNs: utf8(',duration_ns='),
    statusCodeField: utf8('i,status_code='),
    sessionField: utf8('i,session_id='),
    scopeName: utf8(',scope_name='),
    instance: utf8(',gateway_instance='),
    overflow: utf8(`,${OVERFLOW_FIELD}=`),
  };

  constructor(
    opts: SpanLinesOptions,
    private readonly out: LineBuffer,
    private readonly values: SpanValues,
    private readonly keys: AttributeKeys,
  ) {
    const { rules, slots } = opts;
    this.rules = rules;
    this.slots = slots;
    this.countLimit = opts.limits.countLimit;
    this.observe = opts.observe === true;
    this.scopes = { frontend: slots.scope(rules.frontend.name), backend: slots.scope(rules.backend.name), spans: slots.scope(rules.spans.name) };
    this.prefix = { frontend: utf8(escapeMeasurement(rules.frontend.name)), backend: utf8(escapeMeasurement(rules.backend.name)), spans: utf8(escapeMeasurement(rules.spans.name)) };
    this.instanceValue = utf8('"' + escapeStringValue(opts.instanceName) + '"');
    this.kindTags = SPAN_KIND_NAMES.map((k) => utf8(`,span_kind=${k}`));
    this.index = opts.traceIndex === true && rules.spans.enabled ? new TraceIndexRows() : undefined;
  }

  /** Before each request. */
  startRequest(tenantId: string): void {
    this.spans = 0;
    this.conflicts = [];
    if (this.observe) this.observations = [];
    this.tenant = tenantId;
    this.index?.start();
    this.overflowed = 0;
    if (tenantId !== this.lastTenant) {
      const v = escapeKey(tenantId);
      this.tenantTagText = v === '' ? '' : `,tenant_id=${v}`;
      this.tenantTag = utf8(this.tenantTagText);
      this.lastTenant = tenantId;
    }
  }

  /**
   * After the request's spans: its index rows (mapping/trace-index-rows.ts), as the reference path
   * encodes `indexPoints` (identity '': written at their own timestamp, no slot taken).
   */
  indexLines(): void {
    if (this.index === undefined) return;
    const out = this.out;
    for (const r of this.index.rows()) {
      // Parts need no escaping (schema/trace-index.ts escapes their names).
      const fields = r.sessionId === '' ? `trace_ids="${r.ids}",trace_summaries="${r.summaries}"` : `session_id="${escapeStringValue(r.sessionId)}",trace_ids="${r.ids}"`;
      out.putUtf8(`${r.measurement},shard=${r.shard}${this.tenantTagText} ${fields}`);
      out.endLine(nanosDecimal(r.second, r.offset));
    }
  }

  /** The Span message in [r.pos, end) of the request: its lines, or HAND_BACK. */
  span(r: Reader, end: number, scope: ScopeName): void {
    this.values.startSpan();
    this.f.read(r, end, this.values, this.countLimit);
    this.write(scope);
  }

  /**
   * The current span's fields, for a front end that reads them itself (json-trace-lines.ts): it
   * calls `values.startSpan()`, fills these and the values, then `write`.
   */
  get fields(): SpanFields {
    return this.f;
  }

  /** The lines of the span whose fields and values are read, or HAND_BACK. */
  write(scope: ScopeName): void {
    const f = this.f;
    const src = this.out.src;
    f.check(src);
    const durationNs = (f.endHi - f.startHi) * 0x100000000 + (f.endLo - f.startLo);
    const durationMs = Math.floor((durationNs + 500_000) / 1_000_000);

    this.spans++;
    ownerOfBytes(src, f.spanAt, this.owner);
    const t = this.time;
    splitU64(f.startLo, f.startHi, t);
    t.ns = spreadNanos(t.top, t.ns, spreadOffsetOfBytes(src, f.spanAt, 8));

    const frontend = this.rules.frontend.enabled && !this.values.emptyText(this.values.known[SLOT.view] as number);
    const backend = this.rules.backend.enabled && f.kind === 2;
    if (frontend) this.frontendLine(durationMs);
    if (backend) this.backendLine(durationMs);
    if (this.rules.spans.enabled) this.spansLine(durationNs, scope);
    const observe = this.observe && (frontend || backend);
    if (!observe && this.index === undefined) return;
    // The rollups and the index both key by the span id's hex: made once a span.
    const spanId = src.toString('hex', f.spanAt, f.spanAt + 8);
    if (observe) this.observeSpan(frontend, backend, durationMs, spanId);
    if (this.index !== undefined) this.indexSpan(t.top, Math.floor(t.ns / 1000), durationNs, spanId);
  }

  /** The span's durations as the rollups see them (rollup/observation.ts), with the same keys as its lines' tags. */
  private observeSpan(frontend: boolean, backend: boolean, durationMs: number, id: string): void {
    const { f, values } = this;
    const known = values.known;
    const timeNs = (BigInt(f.startHi) << 32n) | BigInt(f.startLo);
    const status = this.rules.spans.enabled ? f.statusCode : undefined;
    const { tenant } = this;
    if (frontend) this.observations.push({ tenant, side: 'frontend', k1: this.text(known[SLOT.view] as number), k2: this.text(known[SLOT.action] as number), durationMs, status, id, timeNs });
    if (backend) {
      const route = known[SLOT.route] as number;
      const endpoint = values.emptyText(route) ? this.out.src.toString('utf8', f.nameStart, f.nameEnd) : this.text(route);
      this.observations.push({ tenant, side: 'backend', k1: endpoint, k2: '', durationMs, status, id, timeNs });
    }
  }

  /** Value `i` as the reference path's tag text (-1: ''). */
  private text(i: number): string {
    if (i === -1) return '';
    const v = this.values;
    return v.type[i] === V_STRING ? this.out.src.toString('utf8', v.start[i] as number, v.end[i] as number) : v.otherText(i);
  }

  /** The span's trace, session and part of its trace's summary, for the index rows written after the request. */
  private indexSpan(second: number, startUs: number, durationNs: number, spanId: string): void {
    const { f } = this;
    const src = this.out.src;
    const session = this.text(this.values.known[SLOT.session] as number);
    const index = this.index as TraceIndexRows;
    index.add(second, src.toString('hex', f.traceAt, f.traceAt + 16), session);
    const root = f.parentLen !== 8;
    // Decoding the name is the part's main cost: only a span that may be its trace's first or root needs it.
    const name = index.wantsName(startUs, root) ? src.toString('utf8', f.nameStart, f.nameEnd) : '';
    index.span(spanId, startUs, startUs * 1000 + durationNs, root, name);
  }

  private frontendLine(durationMs: number): void {
    const { out, values, K } = this;
    const known = values.known;
    out.put(this.prefix.frontend);
    this.tag(K.actionName, known[SLOT.action] as number);
    this.tag(K.serviceName, known[SLOT.service] as number);
    this.tag(K.sessionId, known[SLOT.session] as number);
    out.put(this.tenantTag);
    this.tag(K.viewName, known[SLOT.view] as number);
    out.seriesEnd();
    out.put(K.durationMs);
    out.putAscii(`${durationMs}i`);
    const element = known[SLOT.element] as number;
    if (element !== -1) {
      const n = values.integerText(element);
      if (n !== undefined) {
        out.put(K.elementCount);
        out.putAscii(`${n}i`);
      }
    }
    this.idFields();
    out.put(K.instance);
    out.put(this.instanceValue);
    this.endLine(this.scopes.frontend);
  }

  private backendLine(durationMs: number): void {
    const { out, values, K, f } = this;
    const known = values.known;
    out.put(this.prefix.backend);
    const route = known[SLOT.route] as number;
    if (!values.emptyText(route)) this.tag(K.endpoint, route);
    else out.tagRange(K.endpoint, f.nameStart, f.nameEnd);
    this.tag(K.httpMethod, known[SLOT.method] as number);
    this.tag(K.serviceName, known[SLOT.service] as number);
    this.tag(K.statusCode, known[SLOT.status] as number);
    out.put(this.tenantTag);
    out.seriesEnd();
    out.put(K.latencyMs);
    out.putAscii(`${durationMs}i`);
    this.idFields();
    out.put(K.instance);
    out.put(this.instanceValue);
    this.endLine(this.scopes.backend);
  }

  private spansLine(durationNs: number, scope: ScopeName): void {
    const { out, values, K, f } = this;
    out.put(this.prefix.spans);
    this.tag(K.serviceName, values.known[SLOT.service] as number);
    out.put(this.kindTags[f.kind] ?? (this.kindTags[0] as Buffer));
    out.put(this.tenantTag);
    out.seriesEnd();
    out.put(K.traceIdFirst);
    out.putHex(f.traceAt, 16);
    out.put(K.spanId);
    out.putHex(f.spanAt, 8);
    out.put(K.parentSpanId);
    if (f.parentLen === 8) out.putHex(f.parentAt, 8);
    out.put(K.name);
    out.stringRange(f.nameStart, f.nameEnd);
    out.put(K.durationNs);
    out.putAscii(String(durationNs));
    out.put(K.statusCodeField);
    out.putAscii(String(f.statusCode));
    out.put(K.sessionField);
    this.stringValue(values.known[SLOT.session] as number);
    out.put(K.scopeName);
    if (scope.end > scope.start) out.stringRange(scope.start, scope.end);
    else out.putAscii('""');
    out.put(K.instance);
    out.put(this.instanceValue);
    this.overflow.length = 0;
    for (let j = 0; j < values.restLen; j++) this.attributeField(values.restKeys[j] as Canon, values.restVal[j] as number);
    if (this.overflow.length > 0) this.overflowField();
    this.endLine(this.scopes.spans);
  }

  /**
   * `,attributes="{…}"`: the span's attributes without a column, as field-types.ts
   * `appendAttributeFields` writes them (rule 4), from the same values `attributeField` reads.
   */
  private overflowField(): void {
    const { overflow } = this;
    const entries: Array<readonly [string, FieldValue]> = [];
    for (let j = 0; j < overflow.length; j += 2) {
      const i = overflow[j + 1] as number;
      entries.push([(overflow[j] as Canon).key, this.values.fieldValue(i)]);
    }
    this.overflowed += entries.length;
    this.out.put(this.K.overflow);
    this.out.stringText(encodeOverflow(entries));
  }

  /** Ends a line with the timestamp the slot index gives the span in the line's measurement. */
  private endLine(scope: SlotScope): void {
    const t = this.lineTime;
    t.top = this.time.top;
    t.ns = this.time.ns;
    this.slots.claim(scope, t, this.owner.hi, this.owner.lo);
    this.out.endLineAt(t.top, t.ns);
  }

  /** `,trace_id="…",span_id="…"` (frontend and backend lines). */
  private idFields(): void {
    const { out, K, f } = this;
    out.put(K.traceId);
    out.putHex(f.traceAt, 16);
    out.put(K.spanId);
    out.putHex(f.spanAt, 8);
    out.room(1);
    out.out[out.o++] = 0x22;
  }

  /** A tag from value `i` (-1: none): bytes copied for strings, text for the rest. */
  private tag(key: Buffer, i: number): void {
    if (i === -1) return;
    const v = this.values;
    const kind = v.type[i];
    if (kind === V_STRING) this.out.tagRange(key, v.start[i] as number, v.end[i] as number);
    else if (kind === V_JSON) this.out.tagText(key, v.otherText(i));
    else {
      // Digits, a sign, `.`, `e`, `true`, `Infinity`: never empty, nothing for escapeKey to escape.
      this.out.put(key);
      this.out.putAscii(v.otherText(i));
    }
  }

  private stringValue(i: number): void {
    const v = this.values;
    if (i === -1) this.out.putAscii('""');
    else if (v.type[i] === V_STRING) this.out.stringRange(v.start[i] as number, v.end[i] as number);
    else this.out.stringText(v.otherText(i));
  }

  /** An attribute as a typed `spans` field (field-types.ts rules 1–3). */
  private attributeField(c: Canon, i: number): void {
    const { out, values } = this;
    const kind = values.type[i] as number;
    // Non-finite doubles cannot be written (field-types.ts attributeField → undefined): no field, no registration.
    if (kind === V_DOUBLE && !Number.isFinite(values.num[i])) return;
    const key = this.keys.fieldKey(c, kind, FIELD_TYPES[kind] as FieldType, this.conflicts);
    if (key === OVERFLOW) {
      this.overflow.push(c, i);
      return;
    }
    if (key.length === 0) return;
    out.put(key);
    switch (kind) {
      case V_STRING:
        out.stringRange(values.start[i] as number, values.end[i] as number);
        return;
      case V_BOOL:
        out.putAscii(values.num[i] === 1 ? 'true' : 'false');
        return;
      case V_INT: {
        // int64Decimal is canonical: up to 15 digits it is what String(Number(…)) prints.
        const text = values.text[i] as string;
        out.putAscii(text.length <= 15 ? text : String(Number(text)));
        return;
      }
      case V_JSON:
        out.stringText(values.text[i] as string);
        return;
      default:
        out.putAscii(String(values.num[i]));
    }
  }
}
