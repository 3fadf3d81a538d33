import type { TimestampSlots } from '../../influx/point-identity.ts';
import type { FieldTypeRegistry } from '../../mapping/field-types.ts';
import type { MappingRules } from '../../mapping/rules.ts';
import type { AttributeLimits } from '../../otlp/limits.ts';
import type { SpanObservation } from '../../rollup/observation.ts';
import { AttributeKeys } from './attribute-keys.ts';
import { LineBuffer, splitLines } from './line-buffer.ts';
import { SpanLines } from './span-lines.ts';
import { SpanValues } from './span-values.ts';

/**
 * The encoder core both fused front ends drive (ingest/proto-trace-lines.ts for protobuf,
 * ingest/json-trace-lines.ts for OTLP/JSON): attribute keys, span values, span lines and the line
 * buffer, set up once, and what a request's start, end and hand-back do to them. A front end only
 * walks its encoding down to each span; every mapping, escaping and limit rule lives here, once.
 */
export interface FusedTraceLines {
  readonly spans: number;
  /** The lines joined by newlines (no trailing one), UTF-8: what a write body holds. */
  readonly body: Buffer;
  readonly count: number;
  /** The lines one by one, for the spool (it frames each line). */
  lines(): string[];
  /** The frontend and backend durations for the rollups (empty unless `observe`). */
  readonly observations: readonly SpanObservation[];
}

export interface TraceLineEncoder {
  /** The request's lines with their timestamps assigned, or undefined: use the reference path. */
  encode(body: Buffer, tenantId: string): FusedTraceLines | undefined;
}

export interface TraceLineOptions {
  readonly rules: MappingRules;
  readonly fieldTypes: FieldTypeRegistry;
  readonly slots: TimestampSlots;
  readonly instanceName: string;
  readonly limits: AttributeLimits;
  /** Collect the durations for the rollups. */
  readonly observe?: boolean | undefined;
  /** Write the trace and session index (the span mapper's `traceIndex`: both paths write alike). */
  readonly traceIndex?: boolean | undefined;
}

/** What the core holds between requests instead of the last request's bytes. */
const NOTHING = Buffer.alloc(0);

export class TraceLineCore {
  readonly keys: AttributeKeys;
  readonly out = new LineBuffer();
  readonly values: SpanValues;
  readonly lines: SpanLines;
  private readonly opts: TraceLineOptions;

  /** The core, or undefined when the mapping needs the reference path for every span. */
  static create(opts: TraceLineOptions): TraceLineCore | undefined {
    const { rules } = opts;
    // MAPPING_FILE extra tags change each line's tag set per span: the reference path does that.
    if (rules.frontend.extraTags.length + rules.backend.extraTags.length + rules.spans.extraTags.length > 0) return undefined;
    return new TraceLineCore(opts);
  }

  private constructor(opts: TraceLineOptions) {
    this.opts = opts;
    this.keys = new AttributeKeys(opts.rules.aliases, opts.fieldTypes, opts.rules.spans.name);
    this.values = new SpanValues(this.keys, opts.limits);
    this.lines = new SpanLines(opts, this.out, this.values, this.keys);
  }

  /** Before a request whose values are read from `src` (positions in it). */
  begin(src: Buffer, tenantId: string): void {
    this.opts.fieldTypes.journal();
    this.keys.startRequest();
    this.out.start(src);
    this.values.src = src;
    this.lines.startRequest(tenantId);
  }

  /** The request was handed back: nothing of it is kept, field type registrations included. */
  abandon(): void {
    this.opts.fieldTypes.undo();
    this.out.abandon();
    this.values.src = NOTHING;
  }

  /** The request is taken: its lines, and its field type conflicts counted. */
  finish(): FusedTraceLines {
    // After every span: the index rows sum up the request's traces and sessions.
    this.lines.indexLines();
    this.values.src = NOTHING;
    const taken = this.out.finish();
    const { fieldTypes, rules } = this.opts;
    fieldTypes.commit();
    for (const [key, type] of this.lines.conflicts) fieldTypes.noteConflict(rules.spans.name, key, type);
    if (this.lines.overflowed > 0) fieldTypes.noteOverflow(rules.spans.name, this.lines.overflowed);
    const ends = this.out.lineEnds;
    return { spans: this.lines.spans, body: taken, count: ends.length, lines: () => splitLines(taken, ends), observations: this.lines.observations };
  }
}
