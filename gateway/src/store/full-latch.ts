/**
 * When a memory buffer counts as full for `Store.fullError()`: from the moment it refuses an offer
 * until its fill drops below what it held then (a batch was written). In between, a new request
 * would most likely be refused too, after its body had been read, inflated, decoded and mapped for
 * nothing. Not `isFull` (room for less than one batch): with BUFFER_MAX_BYTES under BATCH_MAX_BYTES
 * that holds even for an empty buffer, which still takes small requests.
 */
export interface FullLatch {
  /** An offer was refused while the buffer held `bytes`. */
  refused(bytes: number): void;
  /** Whether the buffer, now holding `bytes`, still counts as full. */
  holds(bytes: number): boolean;
}

export function createFullLatch(): FullLatch {
  let refusedAt: number | undefined;
  return {
    refused(bytes) {
      // An empty buffer that refuses is too small for that one request, not full.
      if (bytes > 0) refusedAt = bytes;
    },
    holds(bytes) {
      if (refusedAt !== undefined && bytes < refusedAt) refusedAt = undefined;
      return refusedAt !== undefined;
    },
  };
}
