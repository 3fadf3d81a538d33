import type { HrTime } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-web';
import { startTenantlens, type Tenantlens, type TenantlensOptions } from '../../src/index.ts';

export interface TestTracing {
  readonly tl: Tenantlens;
  readonly exporter: InMemorySpanExporter;
  /** Flushes, then returns every exported span (in end order). */
  spans(): Promise<ReadableSpan[]>;
  /** The single exported span called `name`; fails when there are none or several. */
  one(name: string): Promise<ReadableSpan>;
  shutdown(): Promise<void>;
}

/** startTenantlens with an in-memory exporter instead of the OTLP one, and no fetch instrumentation. */
export function startTestTracing(opts: Partial<TenantlensOptions> = {}): TestTracing {
  const exporter = new InMemorySpanExporter();
  const tl = startTenantlens({ serviceName: 'test-app', spanExporter: exporter, instrumentFetch: false, ...opts });
  const spans = async (): Promise<ReadableSpan[]> => {
    await tl.forceFlush();
    return exporter.getFinishedSpans();
  };
  return {
    tl,
    exporter,
    spans,
    async one(name) {
      const found = (await spans()).filter((s) => s.name === name);
      if (found.length !== 1) throw new Error(`expected one span "${name}", got ${found.length}: ${(await spans()).map((s) => s.name).join(', ')}`);
      return found[0] as ReadableSpan;
    },
    shutdown: () => tl.shutdown(),
  };
}

export function ms(t: HrTime): number {
  return t[0] * 1e3 + t[1] / 1e6;
}

/** Parent span id of a span, or undefined for a root. */
export function parentId(s: ReadableSpan): string | undefined {
  return s.parentSpanContext?.spanId;
}
