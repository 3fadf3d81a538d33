import type { RefusedLines } from '../../gateway/src/influx/transport.ts';
import type { WriterEvents } from '../../gateway/src/influx/writer.ts';

/** What a line writer reported, in order: for assertions on retries, refusals and writes. */
export interface RecordedWriterEvents {
  written: number[];
  retries: Array<{ reason: string; status: number | undefined }>;
  failed: Array<{ reason: string; status: number | undefined; rejected: number; sample: readonly string[]; refused: readonly RefusedLines[] }>;
}

export function recordWriterEvents(): { events: WriterEvents; log: RecordedWriterEvents } {
  const log: RecordedWriterEvents = { written: [], retries: [], failed: [] };
  return {
    log,
    events: {
      written: (n) => log.written.push(n),
      retry: (reason, status) => log.retries.push({ reason, status }),
      failed: (reason, status, rejected, sample, refused) => log.failed.push({ reason, status, rejected, sample: [...sample], refused: [...refused] }),
    },
  };
}
