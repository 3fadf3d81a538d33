import { BRACKETS, type JsonCursor } from './json-cursor.ts';
import type { JsonAttributes } from './json-attributes.ts';
import { IGNORED, once, readEnum, readHexId, readText, readTime } from './json-scalars.ts';
import { MemberNames, type TimeHalves } from './json-values.ts';
import type { ScopeName, SpanLines } from './span-lines.ts';
import type { SpanValues } from './span-values.ts';

/**
 * The JSON front end's walk of an ExportTraceServiceRequest down to each span, one method per
 * OTLP level: it hands the core (span-lines.ts) the same positions the protobuf reader does.
 */

const ROOT = new MemberNames({ resourceSpans: 0, resource_spans: 0 });
const RESOURCE_SPANS = new MemberNames({ resource: 0, scopeSpans: 1, scope_spans: 1 });
const ATTRIBUTES = new MemberNames({ attributes: 0, droppedAttributesCount: IGNORED });
const SCOPE_SPANS = new MemberNames({ scope: 0, spans: 1 });
const SCOPE = new MemberNames({ name: 0, version: 1 });
const STATUS = new MemberNames({ code: 0 });
const S_TRACE = 0;
const S_SPAN = 1;
const S_PARENT = 2;
const S_NAME = 3;
const S_KIND = 4;
const S_START = 5;
const S_END = 6;
const S_STATUS = 7;
const S_ATTRIBUTES = 8;
const SPAN = new MemberNames({
  traceId: S_TRACE,
  trace_id: S_TRACE,
  spanId: S_SPAN,
  span_id: S_SPAN,
  parentSpanId: S_PARENT,
  parent_span_id: S_PARENT,
  name: S_NAME,
  kind: S_KIND,
  startTimeUnixNano: S_START,
  start_time_unix_nano: S_START,
  endTimeUnixNano: S_END,
  end_time_unix_nano: S_END,
  status: S_STATUS,
  attributes: S_ATTRIBUTES,
  // Read past unread, but found by name as fast as the rest: the official serializer writes them on every span.
  droppedAttributesCount: IGNORED,
  events: IGNORED,
  droppedEventsCount: IGNORED,
  links: IGNORED,
  droppedLinksCount: IGNORED,
  flags: IGNORED,
  traceState: IGNORED,
});

/** Enum names proto3 JSON allows besides the integers (otlp/decode.ts reads the same). */
const KIND_NAMES = new MemberNames({ SPAN_KIND_UNSPECIFIED: 0, SPAN_KIND_INTERNAL: 1, SPAN_KIND_SERVER: 2, SPAN_KIND_CLIENT: 3, SPAN_KIND_PRODUCER: 4, SPAN_KIND_CONSUMER: 5 });
const STATUS_NAMES = new MemberNames({ STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 });

// Module-local copies: an imported binding is a property read (tsx compiles modules to CommonJS) in loops that run per member.
const { LBRACE, RBRACE, LBRACKET, RBRACKET } = BRACKETS;

export class JsonSpanWalk {
  /** The current ScopeSpans' scope name, [start, end) in the request. */
  private readonly scope: ScopeName = { start: 0, end: 0 };
  private readonly time: TimeHalves = { lo: 0, hi: 0 };

  constructor(
    private readonly c: JsonCursor,
    private readonly values: SpanValues,
    private readonly lines: SpanLines,
    private readonly attributes: JsonAttributes,
  ) {}

  /** The whole request at the cursor; it throws HAND_BACK (or a syntax error) for the reference path. */
  request(): void {
    const c = this.c;
    if (c.open(LBRACE, RBRACE)) {
      let seen = 0;
      do {
        const id = c.member(ROOT);
        if (id === -1) c.skip();
        else {
          seen = once(seen, id);
          if (!c.null() && c.open(LBRACKET, RBRACKET)) {
            do this.resourceSpans();
            while (c.more(RBRACKET));
          }
        }
      } while (c.more(RBRACE));
    }
    c.done();
  }

  private resourceSpans(): void {
    const c = this.c;
    let resourceRead = false;
    let deferred = -1;
    if (c.open(LBRACE, RBRACE)) {
      let seen = 0;
      do {
        const id = c.member(RESOURCE_SPANS);
        if (id === -1) {
          c.skip();
          continue;
        }
        seen = once(seen, id);
        if (id === 0) {
          this.resource();
          resourceRead = true;
        } else if (resourceRead) this.scopeSpansList();
        else {
          // Spans before their resource: read once the resource is (the reference path has the whole object).
          deferred = c.pos;
          c.skip();
        }
      } while (c.more(RBRACE));
    }
    if (!resourceRead) {
      this.values.startResource();
      this.values.endResource();
    }
    if (deferred !== -1) {
      const after = c.pos;
      c.pos = deferred;
      this.scopeSpansList();
      c.pos = after;
    }
  }

  private resource(): void {
    const c = this.c;
    this.values.startResource();
    if (!c.null() && c.open(LBRACE, RBRACE)) {
      let seen = 0;
      do {
        const id = c.member(ATTRIBUTES);
        if (id === -1 || id === IGNORED) c.skip();
        else {
          seen = once(seen, id);
          this.attributes.list(true);
        }
      } while (c.more(RBRACE));
    }
    this.values.endResource();
  }

  private scopeSpansList(): void {
    const c = this.c;
    if (c.null()) return;
    if (c.open(LBRACKET, RBRACKET)) {
      do this.scopeSpans();
      while (c.more(RBRACKET));
    }
  }

  private scopeSpans(): void {
    const c = this.c;
    let scopeRead = false;
    let deferred = -1;
    this.scope.start = 0;
    this.scope.end = 0;
    if (c.open(LBRACE, RBRACE)) {
      let seen = 0;
      do {
        const id = c.member(SCOPE_SPANS);
        if (id === -1) {
          c.skip();
          continue;
        }
        seen = once(seen, id);
        if (id === 0) {
          if (!c.null()) this.scopeName();
          scopeRead = true;
        } else if (scopeRead) this.spans();
        else {
          deferred = c.pos;
          c.skip();
        }
      } while (c.more(RBRACE));
    }
    if (deferred !== -1) {
      const after = c.pos;
      c.pos = deferred;
      this.spans();
      c.pos = after;
    }
  }

  /** An InstrumentationScope: its name into `scope`. */
  private scopeName(): void {
    const c = this.c;
    if (!c.open(LBRACE, RBRACE)) return;
    let seen = 0;
    do {
      const id = c.member(SCOPE);
      if (id === -1) {
        c.skip();
        continue;
      }
      seen = once(seen, id);
      const s = readText(c);
      if (id === 0) {
        this.scope.start = s;
        this.scope.end = c.strEnd;
      }
    } while (c.more(RBRACE));
  }

  private spans(): void {
    const c = this.c;
    if (c.null()) return;
    if (c.open(LBRACKET, RBRACKET)) {
      do this.span();
      while (c.more(RBRACKET));
    }
  }

  // The span's members go to locals and then to the core's fields at once: V8 keeps locals in registers.
  private span(): void {
    const c = this.c;
    this.values.startSpan();
    let traceAt = -1;
    let traceLen = 0;
    let spanAt = -1;
    let spanLen = 0;
    let parentAt = -1;
    let parentLen = 0;
    let nameStart = 0;
    let nameEnd = 0;
    let kind = 0;
    let startLo = 0;
    let startHi = 0;
    let endLo = 0;
    let endHi = 0;
    let statusCode = 0;
    if (c.open(LBRACE, RBRACE)) {
      let seen = 0;
      do {
        const id = c.member(SPAN);
        if (id === -1 || id === IGNORED) {
          c.skip();
          continue;
        }
        seen = once(seen, id);
        switch (id) {
          case S_TRACE:
            traceAt = readHexId(c, 16);
            traceLen = c.strEnd - traceAt;
            break;
          case S_SPAN:
            spanAt = readHexId(c, 8);
            spanLen = c.strEnd - spanAt;
            break;
          case S_PARENT:
            parentAt = readHexId(c, 8);
            parentLen = c.strEnd - parentAt;
            break;
          case S_NAME:
            nameStart = readText(c);
            nameEnd = c.strEnd;
            break;
          case S_KIND:
            kind = readEnum(c, KIND_NAMES);
            break;
          case S_START:
            readTime(c, this.time);
            startLo = this.time.lo;
            startHi = this.time.hi;
            break;
          case S_END:
            readTime(c, this.time);
            endLo = this.time.lo;
            endHi = this.time.hi;
            break;
          case S_STATUS:
            statusCode = this.status();
            break;
          default:
            this.attributes.list(false);
        }
      } while (c.more(RBRACE));
    }
    const f = this.lines.fields;
    f.traceAt = traceAt;
    f.traceLen = traceLen;
    f.spanAt = spanAt;
    f.spanLen = spanLen;
    f.parentAt = parentAt;
    f.parentLen = parentLen;
    f.nameStart = nameStart;
    f.nameEnd = nameEnd;
    f.kind = kind;
    f.startLo = startLo;
    f.startHi = startHi;
    f.endLo = endLo;
    f.endHi = endHi;
    f.statusCode = statusCode;
    this.lines.write(this.scope);
  }

  /** A span's status: its code (null, or no code: 0). */
  private status(): number {
    const c = this.c;
    let code = 0;
    if (c.null() || !c.open(LBRACE, RBRACE)) return code;
    let seen = 0;
    do {
      const id = c.member(STATUS);
      if (id === -1) {
        c.skip();
        continue;
      }
      seen = once(seen, id);
      code = readEnum(c, STATUS_NAMES);
    } while (c.more(RBRACE));
    return code;
  }
}
