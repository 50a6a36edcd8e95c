// Batch Transform's record rules, shared by the local cloud's transform jobs and the fan-out
// mode that sends records through a live endpoint, so both cut and assemble the same way:
// SplitType Line makes every non-blank line a record (None: the whole object is one), and
// AssembleWith Line writes one answer per line.

export interface InputRecord {
  /** 1-based line number in the object (1 when the object is one record). */
  line: number;
  bytes: Buffer;
}

const NEWLINE = 0x0a;
const CR = 0x0d;

function isBlank(bytes: Buffer): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== CR) return false;
  return true;
}

/**
 * Lines of the object (numbered from `firstLine`, for a slice of a larger object) without their terminator (`\n` or `\r\n`). Blank lines (empty or
 * whitespace only) are not records: they get no request and no output line.
 */
export function splitRecords(object: Buffer, splitType: string | undefined, firstLine = 1): InputRecord[] {
  if (splitType !== 'Line') return object.length === 0 ? [] : [{ line: firstLine, bytes: object }];
  const records: InputRecord[] = [];
  let start = 0;
  let line = firstLine;
  while (start < object.length) {
    let end = object.indexOf(NEWLINE, start);
    if (end === -1) end = object.length;
    let stop = end;
    if (stop > start && object[stop - 1] === CR) stop -= 1;
    const bytes = object.subarray(start, stop);
    if (!isBlank(bytes)) records.push({ line, bytes });
    start = end + 1;
    line += 1;
  }
  return records;
}

/** AssembleWith Line: one answer per line (a newline added unless the answer ends with one); None: answers back to back. */
export function assembleOutput(answers: Buffer[], assembleWith: string | undefined): Buffer {
  if (assembleWith !== 'Line') return Buffer.concat(answers);
  const parts: Buffer[] = [];
  for (const answer of answers) {
    parts.push(answer);
    if (answer.length === 0 || answer[answer.length - 1] !== NEWLINE) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}
