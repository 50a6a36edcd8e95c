// Runs transform jobs for real, in the background after CreateTransformJob has answered:
//
//   InProgress ── list inputs in S3, start InstanceCount model processes (TransformStartTime),
//              │  send every record batch to them, write <S3OutputPath>/<relative key>.out per
//              │  input object, stop the processes ──▶ Completed (TransformEndTime)
//              ├─ model start failure, container error, oversized record, S3 error ─▶ Failed + FailureReason
//              └─ StopTransformJob ▶ Stopping ── abort requests, stop processes, delete outputs ─▶ Stopped
//
// Concurrency: MaxConcurrentTransforms is per instance, as AWS defines it ("the maximum number of
// parallel requests that can be sent to each instance"), so a job keeps InstanceCount ×
// MaxConcurrentTransforms requests in flight; each request slot belongs to one process, and slots
// take the next batch in input order as they free up (round-robin when requests take equally long).
// Output lines are put back in input order whatever order the answers come in.
//
// Outputs: an object's .out is written once all of its batches are answered. When the job fails,
// the outputs of objects that were complete stay (as on AWS) and the object that failed has none,
// so there is never a silently partial .out. A stopped job keeps no output (AWS: "When you stop a
// transform job before it is completed, Amazon SageMaker doesn't store the job's output"): the
// .out files it wrote are deleted.
//
// Shutdown aborts jobs without writing state; at the next start `recover` runs InProgress jobs
// again from the beginning (their outputs are rewritten) and finishes Stopping ones as Stopped.
import type { S3Client } from '@aws-sdk/client-s3';
import { buffer } from 'node:stream/consumers';
import type { Logger } from 'pino';
import { createContainerCaller, InvocationTimeoutError } from '../instances/container-call.js';
import { launchFailureReason, type ContainerPoolApi, type Fleet } from '../instances/types.js';
import { describeS3Error, getObject, joinS3Uri, maybeGunzip, parseS3Uri, putObject, deleteObject, s3Uri, type S3Location } from '../s3.js';
import { BackgroundOperations, ShutdownAbort } from './background-operations.js';
import type { SageMakerStore, TransformJobRecord } from './store.js';
import { listTransformInputs, NoTransformInputError, TRANSFORM_DEFAULTS, type TransformInputObject } from './transform-inputs.js';
import { assembleOutput, splitRecords } from '../../common/batch-records.js';
import { batchRecords, RecordTooLargeError, type RecordBatch } from './transform-records.js';

const FAILURE_REASON_MAX = 1024;
/** Model processes of a transform job have this long to answer /ping. */
const HEALTH_CHECK_TIMEOUT_SECONDS = 600;

/** Why a run was aborted by StopTransformJob (shutdown aborts with a ShutdownAbort, and writes no state). */
class StopRequested extends Error {
  constructor() {
    super('StopTransformJob');
    this.name = 'AbortError';
  }
}

/** A failure with the FailureReason the job ends with. */
export class TransformJobFailure extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'TransformJobFailure';
  }
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A pool's start failure, reworded for a job: the pool speaks of production variants. */
function startFailureReason(err: unknown, job: TransformJobRecord): string {
  const reason = launchFailureReason(err, (r) =>
    r.replace(/^Production variant [^:]+: /, '').replace(/for production variant \S+/, `of model ${job.ModelName}`),
  );
  return `ClientError: ${reason}`;
}

interface LoadedObject {
  input: TransformInputObject;
  batches: RecordBatch[];
  answers: Buffer[];
  answered: number;
}

export interface TransformJobRunnerOptions {
  /** Where the model processes' logs are, for failure reasons (the pool's logDir/transform-job/<name>). */
  logDir?: string;
}

export class TransformJobRunner {
  private readonly operations: BackgroundOperations;
  private readonly callContainer = createContainerCaller();

  constructor(
    private readonly store: SageMakerStore,
    private readonly pool: ContainerPoolApi,
    /** S3 (moto, through the local cloud so writes are journalled); known once the server listens. */
    private readonly s3: () => S3Client,
    private readonly log: Logger,
    private readonly opts: TransformJobRunnerOptions = {},
  ) {
    this.operations = new BackgroundOperations(log, { field: 'job', operation: 'transform job run' });
  }

  /** Runs a job the caller has saved as InProgress. */
  start(job: TransformJobRecord): void {
    this.operations.start(job.TransformJobName, (signal) => this.run(job, signal), { fail: (err) => this.failed(job, err) });
  }

  /** StopTransformJob on an InProgress job: Stopping now, Stopped once its processes are gone. */
  stop(job: TransformJobRecord): void {
    this.transition(job, { TransformJobStatus: 'Stopping' });
    if (!this.operations.abort(job.TransformJobName, new StopRequested())) {
      this.transition(job, { TransformJobStatus: 'Stopped', TransformEndTime: Date.now() });
    }
  }

  /** After a restart: InProgress jobs run again from the start; Stopping ones are Stopped. */
  recover(): void {
    for (const job of this.store.transformJobs.values()) {
      if (job.TransformJobStatus === 'InProgress') {
        this.log.info({ job: job.TransformJobName }, 'transform job was running before the restart; running it again');
        this.start(job);
      } else if (job.TransformJobStatus === 'Stopping') {
        this.transition(job, { TransformJobStatus: 'Stopped', TransformEndTime: Date.now() });
      }
    }
  }

  /** Shutdown: aborts every job (its state stays InProgress for `recover`) and waits, boundedly, for their processes. */
  async close(): Promise<void> {
    await this.operations.close();
  }

  private transition(job: TransformJobRecord, changes: Partial<TransformJobRecord>): void {
    Object.assign(job, changes, { LastModifiedTime: Date.now() });
    this.store.save();
    this.log.info({ job: job.TransformJobName, status: job.TransformJobStatus, failureReason: job.FailureReason }, 'transform job status');
  }

  private seeLogs(job: TransformJobRecord): string {
    const where = this.opts.logDir ? ` (local cloud: ${this.opts.logDir}/transform-job/${job.TransformJobName}/)` : '';
    return `See job logs for more information${where}.`;
  }

  private async run(job: TransformJobRecord, signal: AbortSignal): Promise<void> {
    const written: S3Location[] = [];
    let fleet: Fleet | undefined;
    try {
      const inputs = await this.inputs(job);
      signal.throwIfAborted();
      try {
        fleet = await this.pool.launch(
          `transform-job/${job.TransformJobName}`,
          [
            {
              variantName: job.ModelName,
              image: job.container.image,
              environment: job.container.environment,
              instanceCount: job.TransformResources.InstanceCount ?? 1,
              healthCheckTimeoutSeconds: HEALTH_CHECK_TIMEOUT_SECONDS,
              weight: 1,
            },
          ],
          { signal },
        );
      } catch (err) {
        signal.throwIfAborted();
        throw new TransformJobFailure(startFailureReason(err, job));
      }
      signal.throwIfAborted();
      this.transition(job, { TransformStartTime: job.TransformStartTime ?? Date.now() });
      await this.transform(job, fleet, inputs, signal, written);
      await fleet.stop();
      signal.throwIfAborted();
      this.transition(job, { TransformJobStatus: 'Completed', TransformEndTime: Date.now(), FailureReason: undefined });
    } catch (err) {
      await fleet?.stop().catch(() => undefined);
      if (signal.reason instanceof ShutdownAbort) return;
      if (signal.aborted) {
        await this.discard(written);
        this.transition(job, { TransformJobStatus: 'Stopped', TransformEndTime: Date.now() });
        return;
      }
      throw err; // recorded by failed()
    }
  }

  private failed(job: TransformJobRecord, err: unknown): void {
    const reason =
      err instanceof TransformJobFailure ? err.reason : `InternalServerError: The local cloud could not run the job: ${(err as Error)?.message ?? String(err)}`;
    if (!(err instanceof TransformJobFailure)) this.log.error({ err, job: job.TransformJobName }, 'transform job crashed');
    this.transition(job, { TransformJobStatus: 'Failed', FailureReason: clip(reason, FAILURE_REASON_MAX), TransformEndTime: Date.now() });
  }

  private async inputs(job: TransformJobRecord): Promise<TransformInputObject[]> {
    const region = job.TransformJobArn.split(':')[3];
    try {
      return await listTransformInputs(this.s3(), job.TransformInput, { region });
    } catch (err) {
      if (err instanceof NoTransformInputError) throw new TransformJobFailure(`ClientError: ${err.message}`);
      throw new TransformJobFailure(`ClientError: Could not list the input data source: ${describeS3Error(err)}`);
    }
  }

  /** Deletes what a stopped job wrote. Best effort: a leftover is logged, not fatal. */
  private async discard(written: S3Location[]): Promise<void> {
    for (const location of written) {
      await deleteObject(this.s3(), location).catch((err: unknown) =>
        this.log.warn({ err, object: s3Uri(location) }, 'could not delete the output of a stopped transform job'),
      );
    }
  }

  private async transform(job: TransformJobRecord, fleet: Fleet, inputs: TransformInputObject[], signal: AbortSignal, written: S3Location[]): Promise<void> {
    const s3 = this.s3();
    const instances = fleet.variants.flatMap((v) => v.instances);
    const perInstance = Math.max(1, job.MaxConcurrentTransforms);
    // Slot k serves instance k mod n: the first request of every instance goes out before any second one.
    const slots = Array.from({ length: perInstance * instances.length }, (_, k) => instances[k % instances.length].url);
    const failFast = new AbortController();
    const abort = AbortSignal.any([signal, failFast.signal]);
    let failure: unknown;

    const outputUri = (input: TransformInputObject) => joinS3Uri(job.TransformOutput.S3OutputPath!, `${input.relative}.out`);

    const writeOutput = async (object: LoadedObject) => {
      const uri = outputUri(object.input);
      const location = parseS3Uri(uri)!;
      // Recorded before the upload: a stop deletes it even if the upload was cut short after S3 had stored it.
      written.push(location);
      try {
        // Not cut short by another object's failure: a complete object keeps its output, as on AWS.
        await putObject(s3, location, assembleOutput(object.answers, job.TransformOutput.AssembleWith), job.TransformOutput.Accept, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        throw new TransformJobFailure(`ClientError: Could not upload the output for ${s3Uri(object.input.location)} to ${uri}: ${describeS3Error(err)}`);
      }
    };

    const load = async (input: TransformInputObject): Promise<LoadedObject> => {
      const uri = s3Uri(input.location);
      let bytes: Buffer;
      try {
        bytes = maybeGunzip(await getObject(s3, input.location, abort), job.TransformInput.CompressionType);
      } catch (err) {
        if (abort.aborted) throw err;
        throw new TransformJobFailure(`ClientError: Could not read ${uri}: ${describeS3Error(err)}`);
      }
      try {
        const batches = batchRecords(splitRecords(bytes, job.TransformInput.SplitType), job.BatchStrategy, job.MaxPayloadInMB);
        return { input, batches, answers: [], answered: 0 };
      } catch (err) {
        if (!(err instanceof RecordTooLargeError)) throw err;
        const where = job.TransformInput.SplitType === 'Line' ? `line ${err.record.line} of ${uri}` : uri;
        throw new TransformJobFailure(
          `ClientError: Too much data for max payload size: ${where} is ${err.record.bytes.length} bytes and MaxPayloadInMB is ${job.MaxPayloadInMB}. Split the input into smaller records or raise MaxPayloadInMB.`,
        );
      }
    };

    // One batch at a time is handed out, in input order; objects are read when their turn comes.
    let nextInput = 0;
    let current: { object: LoadedObject; next: number } | undefined;
    let queue: Promise<unknown> = Promise.resolve();
    const fail = (err: unknown) => {
      if (failure === undefined && !signal.aborted) failure = err;
      failFast.abort(); // at once, so no other slot starts on anything else
    };
    const take = (): Promise<{ object: LoadedObject; batch: RecordBatch } | undefined> => {
      const taken = queue.then(async () => {
        try {
          for (;;) {
            if (abort.aborted) return undefined;
            if (current && current.next < current.object.batches.length) {
              return { object: current.object, batch: current.object.batches[current.next++] };
            }
            if (nextInput >= inputs.length) return undefined;
            const object = await load(inputs[nextInput++]);
            current = { object, next: 0 };
            if (object.batches.length === 0) await writeOutput(object); // nothing to send: an empty .out
          }
        } catch (err) {
          fail(err);
          return undefined;
        }
      });
      queue = taken;
      return taken;
    };

    const worker = async (url: string) => {
      try {
        for (;;) {
          const work = await take();
          if (!work) return;
          const { object, batch } = work;
          object.answers[batch.index] = await this.invoke(job, url, object, batch, abort);
          object.answered += 1;
          if (object.answered === object.batches.length) await writeOutput(object);
        }
      } catch (err) {
        fail(err);
      }
    };

    await Promise.all(slots.map(worker));
    signal.throwIfAborted();
    if (failure !== undefined) throw failure;
  }

  /** One batch to one process, with the job's timeout and retries (connection failures, timeouts and 5xx are retried; 4xx is not). */
  private async invoke(job: TransformJobRecord, url: string, object: LoadedObject, batch: RecordBatch, signal: AbortSignal): Promise<Buffer> {
    const timeoutMs = (job.ModelClientConfig?.InvocationsTimeoutInSeconds ?? TRANSFORM_DEFAULTS.InvocationsTimeoutInSeconds) * 1000;
    const retries = job.ModelClientConfig?.InvocationsMaxRetries ?? TRANSFORM_DEFAULTS.InvocationsMaxRetries;
    const uri = s3Uri(object.input.location);
    const where =
      job.TransformInput.SplitType !== 'Line'
        ? uri
        : batch.firstLine === batch.lastLine
          ? `line ${batch.firstLine} of ${uri}`
          : `lines ${batch.firstLine}-${batch.lastLine} of ${uri}`;
    const headers: Record<string, string> = {};
    if (job.TransformInput.ContentType) headers['Content-Type'] = job.TransformInput.ContentType;
    if (job.TransformOutput.Accept) headers.Accept = job.TransformOutput.Accept;
    for (let attempt = 0; ; attempt++) {
      let status: number;
      let payload: Buffer;
      let timedOut = false;
      try {
        const call = await this.callContainer(url, { body: batch.body, headers, timeoutMs, signal });
        try {
          payload = await buffer(call.response);
        } finally {
          timedOut = call.timedOut;
        }
        status = call.response.statusCode ?? 0;
      } catch (err) {
        signal.throwIfAborted();
        if (attempt < retries) continue;
        const what =
          timedOut || err instanceof InvocationTimeoutError
            ? `did not answer within InvocationsTimeoutInSeconds (${timeoutMs / 1000} s)`
            : `could not be reached (${(err as Error).message})`;
        throw new TransformJobFailure(`ClientError: The model container ${what} for ${where}, after ${attempt + 1} attempts. ${this.seeLogs(job)}`);
      }
      if (status >= 200 && status < 300) return payload;
      if (status >= 500 && attempt < retries) continue;
      const multi =
        batch.records > 1
          ? ` The request carried ${batch.records} records joined by newlines (BatchStrategy MultiRecord); a container that takes one JSON document per request, such as TGI, needs BatchStrategy SingleRecord.`
          : '';
      const message = clip(payload.toString('utf8').trim(), 300);
      throw new TransformJobFailure(`ClientError: Bad HTTP status received from algorithm: ${status} for ${where}: ${message}.${multi} ${this.seeLogs(job)}`);
    }
  }
}
