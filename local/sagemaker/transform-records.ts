// How a transform job cuts an input object into requests, as Batch Transform does:
// SplitType Line makes every line a record (None: the whole object is one), and BatchStrategy
// decides how many records go into one request: SingleRecord one, MultiRecord as many
// consecutive lines of the same object as fit in MaxPayloadInMB, joined by newlines.
// Records never span objects, so every request's answer belongs to exactly one output object.

import type { InputRecord } from '../../common/batch-records.js';

export const MIB = 1024 * 1024;

export interface RecordBatch {
  /** Position of the batch within its object; its answer goes at this place in the output. */
  index: number;
  firstLine: number;
  lastLine: number;
  records: number;
  body: Buffer;
}

export class RecordTooLargeError extends Error {
  constructor(
    readonly record: InputRecord,
    readonly limitBytes: number,
  ) {
    super(`record at line ${record.line} is ${record.bytes.length} bytes, more than the ${limitBytes} bytes allowed`);
    this.name = 'RecordTooLargeError';
  }
}

/**
 * Groups records into request bodies. `maxPayloadInMB` 0 means no limit (AWS's value for
 * containers that take chunked payloads): MultiRecord then sends the whole object at once.
 */
export function batchRecords(records: InputRecord[], strategy: string, maxPayloadInMB: number): RecordBatch[] {
  const limit = maxPayloadInMB === 0 ? Infinity : maxPayloadInMB * MIB;
  const batches: RecordBatch[] = [];
  let pending: InputRecord[] = [];
  let pendingBytes = 0;
  const flush = () => {
    if (!pending.length) return;
    const parts: Buffer[] = [];
    pending.forEach((r, i) => {
      if (i > 0) parts.push(Buffer.from('\n'));
      parts.push(r.bytes);
    });
    batches.push({
      index: batches.length,
      firstLine: pending[0].line,
      lastLine: pending.at(-1)!.line,
      records: pending.length,
      body: Buffer.concat(parts),
    });
    pending = [];
    pendingBytes = 0;
  };
  for (const record of records) {
    if (record.bytes.length > limit) throw new RecordTooLargeError(record, limit);
    if (strategy !== 'MultiRecord') {
      pending.push(record);
      flush();
      continue;
    }
    const added = record.bytes.length + (pending.length ? 1 : 0);
    if (pendingBytes + added > limit) flush();
    pendingBytes += record.bytes.length + (pending.length ? 1 : 0);
    pending.push(record);
  }
  flush();
  return batches;
}
