// batchFanOut: a batch over an endpoint that is already InService (batch input `mode: "endpoint"`),
// instead of a transform job with instances of its own. Same input, same output layout and line
// order as job mode (`<output>/<relative key>.out`, one line per input record, in order).
//
// validate → check the endpoint (first run) → count input records (first run) → plan the next
// chunksPerRun chunks → invoke them, maxConcurrency at a time, assembling each object's .out as
// soon as its chunks are done → continue as new with the cursor (O(1) history however many
// records) → at the end, count the outputs as job mode does.
//
// A chunk's staging part is its checkpoint (activities/batch-fan-out.ts), so a retried chunk, a
// chunk re-planned after a crash, or a re-run of a failed batch under the same workflow id skips
// what is done. A record the container refuses fails the batch as it fails a transform job: the
// chunks in flight are cancelled, objects already assembled keep their .out, the failing object
// gets none, and the failure carries the job-style reason.
import { ApplicationFailure, CancellationScope, ContinueAsNew, continueAsNew, isCancellation, workflowInfo } from '@temporalio/workflow';
import type { FanOutChunk, FanOutCursor, FanOutJob } from '../activities/batch-fan-out.js';
import { batchFanOutInputSchema, type BatchFanOutInput, type BatchFanOutSpec } from '../common/batch-input.js';
import type { BatchTransformResult } from './batch-transform.js';
import { controlPlaneActivities, countingActivities, fanOutChunkActivities } from './activity-proxies.js';
import { reasonOf } from './failures.js';
import { ProgressTracker } from './progress.js';
import { validateInput } from '../common/input-parsing.js';
import { tagWithEndpointName } from './endpoint-search-attribute.js';

/** What one run hands the next through continue-as-new. */
export interface BatchFanOutState {
  cursor: FanOutCursor;
  startedAt: string;
  runs: number;
  inputObjects: number;
  inputRecords: number;
  recordsDone: number;
  chunksDone: number;
  /** Chunks whose part was already there (a retry after a crash, or a re-run of a failed batch). */
  chunksSkipped: number;
  objectsWritten: number;
}

/** The counts a job's result has too, so the two modes' results compare field by field. */
export interface BatchFanOutResult
  extends Pick<BatchTransformResult, 'outputS3Uri' | 'inputObjects' | 'inputRecords' | 'outputObjects' | 'outputRecords' | 'missingRecords'> {
  endpointName: string;
  chunks: number;
  chunksSkipped: number;
  runs: number;
  durationSeconds: number;
}

function fanOutJob(spec: BatchFanOutSpec, stagingId: string): FanOutJob {
  return {
    endpointName: spec.endpointName,
    inferenceComponentName: spec.inferenceComponentName,
    inputS3Uri: spec.input.s3Uri,
    outputS3Uri: spec.output.s3Uri,
    contentType: spec.input.contentType,
    accept: spec.output.accept,
    splitType: spec.input.splitType,
    invocationsPerChunk: spec.invocationsPerChunk,
    invocationsMaxRetries: spec.invocationsMaxRetries,
    stagingId,
  };
}

export async function batchFanOut(rawInput: BatchFanOutInput, carried?: BatchFanOutState): Promise<BatchFanOutResult> {
  const spec = validateInput(batchFanOutInputSchema, 'batchFanOut', rawInput);
  const { workflowId } = workflowInfo();
  tagWithEndpointName(spec.endpointName);
  const progress = new ProgressTracker('batchFanOut', spec.endpointName);
  const controlPlane = controlPlaneActivities();
  const counting = countingActivities();
  const chunks = fanOutChunkActivities({ chunkMinutes: spec.timeouts.chunkMinutes });
  const job = fanOutJob(spec, workflowId);
  const showRecords = (s: BatchFanOutState) => {
    progress.resource('recordsDone', String(s.recordsDone));
    progress.resource('recordsTotal', String(s.inputRecords));
    progress.resource('chunksDone', String(s.chunksDone));
    progress.resource('run', String(s.runs));
    progress.lastStatus(`${s.recordsDone}/${s.inputRecords} records`);
  };

  try {
    let state = carried;
    if (!state) {
      const endpoint = await progress.step('checkEndpoint', () => controlPlane.describeEndpointStatus({ endpointName: spec.endpointName }));
      if (endpoint.status !== 'InService') {
        const status = endpoint.status === 'NotFound' ? 'does not exist' : `is ${endpoint.status}`;
        throw ApplicationFailure.nonRetryable(
          `endpointName: endpoint ${spec.endpointName} ${status}; a fan-out needs an InService endpoint`,
          'EndpointNotInService',
        );
      }
      const input = await progress.step(
        'countInputRecords',
        () => counting.countS3Records({ s3Uri: spec.input.s3Uri, splitType: spec.input.splitType }),
        (c) => `${c.records} records in ${c.objects} objects`,
      );
      if (input.objects === 0) throw ApplicationFailure.nonRetryable(`input.s3Uri: no objects under ${spec.input.s3Uri}`, 'EmptyInput');
      state = {
        cursor: {},
        startedAt: new Date().toISOString(),
        runs: 1,
        inputObjects: input.objects,
        inputRecords: input.records,
        recordsDone: 0,
        chunksDone: 0,
        chunksSkipped: 0,
        objectsWritten: 0,
      };
    }
    const s = state;
    showRecords(s);

    const page = await progress.step(
      'planChunks',
      () =>
        counting.planFanOutChunks({
          inputS3Uri: spec.input.s3Uri,
          splitType: spec.input.splitType,
          recordsPerChunk: spec.recordsPerChunk,
          maxChunks: spec.chunksPerRun,
          cursor: s.cursor,
        }),
      (p) => `${p.chunks.length} chunks`,
    );
    await progress.step('invokeChunks', () => runPage(page.chunks));

    if (page.next) {
      await continueAsNew<typeof batchFanOut>(rawInput, { ...s, cursor: page.next, runs: s.runs + 1 });
    }

    const output = await progress.step('countOutputRecords', () =>
      counting.countTransformOutputs({ inputS3Uri: spec.input.s3Uri, outputS3Uri: spec.output.s3Uri, splitType: spec.input.splitType }),
    );
    progress.finish('succeeded');
    return {
      endpointName: spec.endpointName,
      outputS3Uri: spec.output.s3Uri,
      inputObjects: s.inputObjects,
      inputRecords: s.inputRecords,
      outputObjects: output.objects,
      outputRecords: output.records,
      missingRecords: Math.max(0, s.inputRecords - output.records),
      chunks: s.chunksDone,
      chunksSkipped: s.chunksSkipped,
      runs: s.runs,
      durationSeconds: Math.round((Date.now() - Date.parse(s.startedAt)) / 100) / 10,
    };

    /** This run's chunks, maxConcurrency at a time in input order; the first failure cancels the rest. */
    async function runPage(planned: FanOutChunk[]): Promise<void> {
      // An object's .out is assembled when its last chunk and every chunk of it in this page are done
      // (its chunks in earlier runs finished before those runs continued as new).
      const pending = new Map<string, number>();
      for (const c of planned) pending.set(c.key, (pending.get(c.key) ?? 0) + 1);
      const scope = new CancellationScope();
      let next = 0;
      let failure: unknown;
      const lane = async () => {
        while (failure === undefined && next < planned.length) {
          const chunk = planned[next++];
          const outcome = await chunks.invokeFanOutChunk({ job, chunk });
          s.recordsDone += outcome.records;
          s.chunksDone += 1;
          if (outcome.skipped) s.chunksSkipped += 1;
          showRecords(s);
          const left = pending.get(chunk.key)! - 1;
          pending.set(chunk.key, left);
          if (left === 0 && planned.some((c) => c.key === chunk.key && c.lastOfObject)) {
            const last = planned.find((c) => c.key === chunk.key && c.lastOfObject)!;
            // A complete object keeps its output even when another chunk fails meanwhile, as in a transform job.
            await CancellationScope.nonCancellable(() => counting.assembleFanOutObject({ job, key: chunk.key, etag: chunk.etag, chunks: last.index + 1 }));
            s.objectsWritten += 1;
            progress.resource('objectsWritten', String(s.objectsWritten));
          }
        }
      };
      await scope.run(() =>
        Promise.all(
          Array.from({ length: spec.maxConcurrency }, () =>
            lane().catch((err: unknown) => {
              failure ??= err;
              scope.cancel();
            }),
          ),
        ),
      );
      if (failure !== undefined) throw failure;
    }
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    const cancelled = isCancellation(err);
    progress.finish(cancelled ? 'cancelled' : 'failed', cancelled ? 'cancelled' : reasonOf(err));
    if (cancelled) throw err;
    throw ApplicationFailure.create({
      message: `Batch fan-out over ${spec.endpointName} failed at step ${progress.snapshot().step}: ${reasonOf(err)}`,
      type: 'BatchFanOutFailed',
      nonRetryable: true,
      details: [progress.snapshot()],
    });
  }
}
