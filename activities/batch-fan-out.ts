// Batch fan-out over a live endpoint (batchFanOut): the three side effects of its runbook.
//
// - planFanOutChunks streams the input objects once and cuts their records into chunks: byte
//   ranges of `recordsPerChunk` records each, never spanning objects, so a chunk's records are one
//   ranged GET away and its answers belong to one output object. It stops after `maxChunks` (one
//   workflow run's worth) and returns a cursor, possibly in the middle of an object.
// - invokeFanOutChunk sends a chunk's records to the endpoint (InvokeEndpoint, the record's bytes
//   as the body, exactly what a transform job sends its container), a few at a time, and writes
//   the answers as ONE staging object (a single PutObject: it exists whole or not at all). That
//   object is the chunk's checkpoint: an attempt that finds it (same input ETag, range and record
//   count in its metadata) does nothing. While it works it heartbeats the answers of the records
//   finished so far (the prefix up to the first unfinished one), so a retried attempt resumes there.
// - assembleFanOutObject concatenates an object's parts in order into `<output>/<relative>.out`
//   (one PutObject again), then deletes the parts. The .out carries the run and input ETag in its
//   metadata, so an attempt that crashed after the put only finishes the clean-up.
//
// Nothing is duplicated after a crash: parts and outputs are written whole by one PUT each, the
// same bytes on every attempt, and a line reaches an output only through assembly in chunk order.
// Staging lives under `<output>/.fan-out/<workflow id>/`, keyed by the workflow id (stable across
// continue-as-new and across a re-run of a failed batch under the same id, which thereby resumes).
//
// Failure of a record follows Batch Transform: a 4xx from the container fails the batch at once
// ("Bad HTTP status received from algorithm: 4xx for line N of s3://…"), a 5xx or no answer is
// sent again up to invocationsMaxRetries times first; throttling and service errors retry.
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { activityInfo, asyncLocalStorage, Context, heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { assembleOutput, type InputRecord, splitRecords } from '../common/batch-records.js';
import { parseS3Uri, transformOutputUri } from '../common/s3-uri.js';
import { callAws, callAwsOrUndefined, classifyAwsError, isAwsError } from './aws-errors.js';
import { objectsUnder } from './s3.js';

/** A chunk of one input object's records: bytes [start, end) of it, from line `firstLine` on. */
export interface FanOutChunk {
  key: string;
  /** The object's ETag when planned: a changed object fails the batch instead of mixing versions. */
  etag: string;
  /** Position of the chunk in its object (0-based); its part is named by it. */
  index: number;
  start: number;
  end: number;
  /** Line number (1-based) at `start`, for failure messages that name the record's line. */
  firstLine: number;
  records: number;
  /** The object's last chunk: once it and the ones before are done, the object's .out is assembled. */
  lastOfObject: boolean;
}

/** Where planning stopped: after object `after`, or inside object `key` at byte `offset`. */
export interface FanOutCursor {
  after?: string;
  within?: { key: string; etag: string; offset: number; line: number; index: number };
}

/** What every chunk of one batch shares. */
export interface FanOutJob {
  endpointName: string;
  inferenceComponentName?: string;
  inputS3Uri: string;
  outputS3Uri: string;
  contentType: string;
  accept: string;
  splitType: 'Line' | 'None';
  invocationsPerChunk: number;
  invocationsMaxRetries: number;
  /** Names the staging folder: the workflow id. */
  stagingId: string;
}

export interface ChunkOutcome {
  records: number;
  /** Its part was already there (an earlier attempt or run wrote it). */
  skipped: boolean;
}

/** What a chunk attempt heartbeats: answers (base64) of records [0, answers.length) of the chunk. */
interface ChunkCheckpoint {
  fingerprint: string;
  answers: string[];
}

const NEWLINE = 0x0a;
/** Heartbeat details above this size carry no answers: a retry then starts the chunk over. */
const MAX_CHECKPOINT_BYTES = 512 * 1024;
const STAGING_FOLDER = '.fan-out';

const fingerprintOf = (c: FanOutChunk) => `${c.etag}:${c.start}-${c.end}:${c.records}`;

/** The staging folder of one input object's parts. */
function partsPrefix(job: FanOutJob, key: string): string {
  const relative = transformOutputUri(job.inputS3Uri, key, job.outputS3Uri).slice(job.outputS3Uri.replace(/\/+$/, '').length + 1);
  return `${job.outputS3Uri.replace(/\/+$/, '')}/${STAGING_FOLDER}/${encodeURIComponent(job.stagingId)}/${relative}/`;
}

const partUri = (job: FanOutJob, key: string, index: number) => `${partsPrefix(job, key)}${String(index).padStart(6, '0')}`;

const inActivity = () => asyncLocalStorage.getStore() !== undefined;
const beat = (details?: unknown) => inActivity() && heartbeat(details);
const cancelled = () => (inActivity() ? Context.current().cancellationSignal : undefined);

async function readBody(s3: S3Client, uri: string, opts: { range?: string; ifMatch?: string } = {}) {
  const { bucket, key } = parseS3Uri(uri);
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: opts.range, IfMatch: opts.ifMatch }), { abortSignal: cancelled() });
    return { etag: out.ETag ?? '', body: out.Body as AsyncIterable<Uint8Array> };
  } catch (err) {
    if (isAwsError(err) && (err.name === 'PreconditionFailed' || err.$metadata?.httpStatusCode === 412)) {
      throw ApplicationFailure.nonRetryable(
        `${uri} changed while the batch ran (its ETag is no longer ${opts.ifMatch}); start the batch again`,
        'InputChanged',
      );
    }
    return classifyAwsError(err, `GetObject ${uri}`);
  }
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of body) parts.push(part);
  return Buffer.concat(parts);
}

/** The container's status behind a ModelError (0: it did not answer), or undefined for other errors. */
function modelStatus(err: unknown): number | undefined {
  if (!isAwsError(err) || err.name !== 'ModelError') return undefined;
  return (err as { OriginalStatusCode?: number }).OriginalStatusCode ?? 0;
}

export function createBatchFanOutActivities({ s3, runtime }: { s3: S3Client; runtime: SageMakerRuntimeClient }) {
  /** Streams one object from `from` on, cutting chunks; stops after `room` chunks (cursor inside the object). */
  async function planObject(
    inputS3Uri: string,
    splitType: 'Line' | 'None',
    recordsPerChunk: number,
    from: { key: string; etag?: string; offset: number; line: number; index: number },
    room: number,
  ): Promise<{ chunks: FanOutChunk[]; rest?: FanOutCursor['within'] }> {
    const { bucket } = parseS3Uri(inputS3Uri);
    const uri = `s3://${bucket}/${from.key}`;
    const { etag, body } = await readBody(s3, uri, { range: from.offset ? `bytes=${from.offset}-` : undefined, ifMatch: from.etag });
    const chunks: FanOutChunk[] = [];
    let start = from.offset;
    let firstLine = from.line;
    let records = 0;
    let index = from.index;
    let position = from.offset;
    let line = from.line;
    let lineStart = from.offset;
    let lineHasContent = false;
    const emit = (end: number, lastOfObject: boolean) => {
      chunks.push({ key: from.key, etag, index: index++, start, end, firstLine, records, lastOfObject });
      start = end;
      firstLine = line;
      records = 0;
    };
    if (splitType === 'None') {
      let size = 0;
      for await (const part of body) size += part.length;
      records = size ? 1 : 0;
      emit(size, true);
      return { chunks };
    }
    for await (const part of body) {
      for (let i = 0; i < part.length; i++, position++) {
        const b = part[i];
        if (b === NEWLINE) {
          line++;
          lineStart = position + 1;
          lineHasContent = false;
        } else if (!lineHasContent && b !== 0x0d && b !== 0x20 && b !== 0x09) {
          // A record begins on this line: the chunk before it is full, so it ends where this line starts.
          if (records === recordsPerChunk) {
            emit(lineStart, false);
            // Leaving the loop closes the stream.
            if (chunks.length === room) {
              return { chunks, rest: { key: from.key, etag, offset: start, line: firstLine, index } };
            }
          }
          lineHasContent = true;
          records++;
        }
      }
      beat();
    }
    emit(position, true);
    return { chunks };
  }

  const outputMark = (job: FanOutJob, etag: string) => `${job.stagingId}:${etag}`;
  /** Whether this batch (same workflow id, same input ETag) already wrote the object's .out. */
  async function alreadyAssembled(job: FanOutJob, key: string, etag: string): Promise<boolean> {
    const outputS3Uri = transformOutputUri(job.inputS3Uri, key, job.outputS3Uri);
    const { bucket, key: outKey } = parseS3Uri(outputS3Uri);
    const written = await callAwsOrUndefined(`HeadObject ${outputS3Uri}`, () => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: outKey })));
    return written?.Metadata?.['fan-out-source'] === outputMark(job, etag);
  }

  return {
    /** The next chunks of the batch, at most `maxChunks`, from `cursor` on; `next` is undefined once every record is planned. */
    async planFanOutChunks({
      inputS3Uri,
      splitType,
      recordsPerChunk,
      maxChunks,
      cursor = {},
    }: {
      inputS3Uri: string;
      splitType: 'Line' | 'None';
      recordsPerChunk: number;
      maxChunks: number;
      cursor?: FanOutCursor;
    }): Promise<{ chunks: FanOutChunk[]; next?: FanOutCursor }> {
      const chunks: FanOutChunk[] = [];
      let after = cursor.after;
      if (cursor.within) {
        const planned = await planObject(inputS3Uri, splitType, recordsPerChunk, cursor.within, maxChunks);
        chunks.push(...planned.chunks);
        if (planned.rest) return { chunks, next: { within: planned.rest } };
        after = cursor.within.key;
      }
      for await (const object of objectsUnder(s3, inputS3Uri, after)) {
        if (chunks.length >= maxChunks) return { chunks, next: { after } };
        after = object.key;
        // Folder markers are not inputs (transform jobs and the record count skip them too).
        if (object.key.endsWith('/')) continue;
        const planned = await planObject(inputS3Uri, splitType, recordsPerChunk, { key: object.key, offset: 0, line: 1, index: 0 }, maxChunks - chunks.length);
        chunks.push(...planned.chunks);
        if (planned.rest) return { chunks, next: { within: planned.rest } };
      }
      return { chunks };
    },

    /** Invokes the endpoint for every record of a chunk and writes its part; a complete part already there means done. */
    async invokeFanOutChunk({ job, chunk }: { job: FanOutJob; chunk: FanOutChunk }): Promise<ChunkOutcome> {
      const fingerprint = fingerprintOf(chunk);
      const part = parseS3Uri(partUri(job, chunk.key, chunk.index));
      const existing = await callAwsOrUndefined(`HeadObject s3://${part.bucket}/${part.key}`, () =>
        s3.send(new HeadObjectCommand({ Bucket: part.bucket, Key: part.key })),
      );
      if (existing?.Metadata?.['fan-out-chunk'] === fingerprint) return { records: chunk.records, skipped: true };
      // A re-run after a failure: objects that were assembled then have their .out and no parts any more.
      if (await alreadyAssembled(job, chunk.key, chunk.etag)) return { records: chunk.records, skipped: true };

      const { bucket } = parseS3Uri(job.inputS3Uri);
      const source = `s3://${bucket}/${chunk.key}`;
      const bytes =
        chunk.end > chunk.start
          ? await readAll((await readBody(s3, source, { range: `bytes=${chunk.start}-${chunk.end - 1}`, ifMatch: chunk.etag })).body)
          : Buffer.alloc(0);
      const records = splitRecords(bytes, job.splitType, chunk.firstLine);
      if (records.length !== chunk.records) {
        throw ApplicationFailure.nonRetryable(
          `${source} bytes ${chunk.start}-${chunk.end} hold ${records.length} records, ${chunk.records} were planned`,
          'InputChanged',
        );
      }

      const resumed = inActivity() ? (activityInfo().heartbeatDetails as ChunkCheckpoint | undefined) : undefined;
      const answers: (Buffer | undefined)[] = resumed?.fingerprint === fingerprint ? resumed.answers.map((a) => Buffer.from(a, 'base64')) : [];
      let done = answers.length;
      const checkpoint = (): ChunkCheckpoint => {
        const finished = answers.slice(0, done) as Buffer[];
        const size = finished.reduce((n, a) => n + a.length, 0);
        return { fingerprint, answers: size * 1.4 < MAX_CHECKPOINT_BYTES ? finished.map((a) => a.toString('base64')) : [] };
      };
      // An invocation may take up to AWS's 60 s: beat on a timer, so a lost worker shows within the heartbeat timeout.
      const timer = inActivity() ? setInterval(() => beat(checkpoint()), 1000) : undefined;
      const where = (line: number) => (job.splitType === 'Line' ? `line ${line} of ${source}` : source);
      const invoke = async ({ line, bytes: body }: InputRecord): Promise<Buffer> => {
        for (let attempt = 0; ; attempt++) {
          try {
            const out = await runtime.send(
              new InvokeEndpointCommand({
                EndpointName: job.endpointName,
                InferenceComponentName: job.inferenceComponentName,
                ContentType: job.contentType,
                Accept: job.accept,
                Body: body,
              }),
              { abortSignal: cancelled() },
            );
            return Buffer.from(out.Body ?? new Uint8Array());
          } catch (err) {
            const status = modelStatus(err);
            if (status === undefined) return classifyAwsError(err, `InvokeEndpoint ${job.endpointName} for ${where(line)}`);
            if (!(status >= 400 && status < 500) && attempt < job.invocationsMaxRetries) continue;
            const message = ((err as { OriginalMessage?: string }).OriginalMessage ?? (err as Error).message ?? '').trim().slice(0, 300);
            throw ApplicationFailure.nonRetryable(
              status >= 400 && status < 500
                ? `ClientError: Bad HTTP status received from algorithm: ${status} for ${where(line)}: ${message}`
                : `ClientError: The model container failed for ${where(line)} (status ${status}), after ${attempt + 1} attempts: ${message}`,
              'RecordFailed',
              { line, source, status },
            );
          }
        }
      };
      try {
        let next = done;
        let failed = false;
        const lane = async () => {
          while (!failed && next < records.length) {
            const i = next++;
            try {
              answers[i] = await invoke(records[i]);
            } catch (err) {
              failed = true;
              throw err;
            }
            while (done < records.length && answers[done]) done++;
          }
        };
        await Promise.all(Array.from({ length: Math.min(job.invocationsPerChunk, records.length - done) }, lane));
      } finally {
        clearInterval(timer);
      }
      await callAws(`PutObject s3://${part.bucket}/${part.key}`, () =>
        s3.send(
          new PutObjectCommand({
            Bucket: part.bucket,
            Key: part.key,
            Body: assembleOutput(answers as Buffer[], job.splitType),
            ContentType: job.accept,
            Metadata: { 'fan-out-chunk': fingerprint, records: String(chunk.records) },
          }),
        ),
      );
      return { records: chunk.records, skipped: false };
    },

    /** Writes `<output>/<relative>.out` from the object's `chunks` parts, in order, and removes the parts. */
    async assembleFanOutObject({
      job,
      key,
      etag,
      chunks,
    }: {
      job: FanOutJob;
      key: string;
      etag: string;
      chunks: number;
    }): Promise<{ outputS3Uri: string; bytes: number }> {
      // bytes: what this attempt wrote (0 when an earlier attempt had written it).
      const outputS3Uri = transformOutputUri(job.inputS3Uri, key, job.outputS3Uri);
      const out = parseS3Uri(outputS3Uri);
      const parts = Array.from({ length: chunks }, (_, i) => parseS3Uri(partUri(job, key, i)));
      let bytes = 0;
      if (!(await alreadyAssembled(job, key, etag))) {
        const contents: Buffer[] = [];
        for (const p of parts) {
          contents.push(await readAll((await readBody(s3, `s3://${p.bucket}/${p.key}`)).body));
          beat();
        }
        const body = Buffer.concat(contents);
        bytes = body.length;
        await callAws(`PutObject ${outputS3Uri}`, () =>
          s3.send(
            new PutObjectCommand({
              Bucket: out.bucket,
              Key: out.key,
              Body: body,
              ContentType: job.accept,
              Metadata: { 'fan-out-source': outputMark(job, etag) },
            }),
          ),
        );
      }
      // DeleteObjects takes up to 1000 keys; a missing key counts as deleted.
      for (let i = 0; i < parts.length; i += 1000) {
        await callAws(`DeleteObjects ${partsPrefix(job, key)}`, () =>
          s3.send(
            new DeleteObjectsCommand({
              Bucket: out.bucket,
              Delete: { Objects: parts.slice(i, i + 1000).map((p) => ({ Key: p.key })), Quiet: true },
            }),
          ),
        );
      }
      return { outputS3Uri, bytes };
    },
  };
}

export type BatchFanOutActivities = ReturnType<typeof createBatchFanOutActivities>;
