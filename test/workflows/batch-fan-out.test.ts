// batchFanOut on the time-skipping test server, with in-memory activities: chunk parts as
// checkpoints (a retried chunk or a re-run skips what is done), continue-as-new keeping the
// progress, job-style failure of a record, and bad input refused before any activity.
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { ChunkOutcome, FanOutChunk, FanOutCursor, FanOutJob } from '../../activities/batch-fan-out.js';
import type { BatchFanOutInput } from '../../common/batch-input.js';
import type { BatchFanOutResult } from '../../workflows/batch-fan-out.js';
import type { Progress } from '../../workflows/progress.js';
import { timeSkippingSuite } from '../support/time-skipping-suite.js';

const suite = timeSkippingSuite('fan-out-test');

const IN = 's3://fan-out/input/';
const OUT = 's3://fan-out/output/';
const input = (overrides: Partial<BatchFanOutInput> = {}): BatchFanOutInput => ({
  mode: 'endpoint',
  endpointName: 'live',
  input: { s3Uri: IN },
  output: { s3Uri: OUT },
  recordsPerChunk: 50,
  maxConcurrency: 2,
  ...overrides,
});

interface Behaviour {
  /** Records per input object, in key order. */
  objects?: Record<string, number>;
  endpointStatus?: string;
  /** Chunk ids (`key#index`) whose first attempt dies like a lost worker (a retryable error). */
  crashOnce?: Set<string>;
  /** Chunk ids whose records the container refuses (a 4xx): the job-style failure. */
  refuse?: Set<string>;
}

/** Keeps parts and outputs in memory, as S3 would; every call is logged. */
function createFakeFanOut(behaviour: Behaviour = {}) {
  const objects = behaviour.objects ?? { 'a.jsonl': 130, 'b.jsonl': 70 };
  const parts = new Map<string, number>();
  const outputs = new Map<string, number>();
  const calls: string[] = [];
  const attempts = new Map<string, number>();
  const id = (c: { key: string; index: number }) => `${c.key}#${c.index}`;

  function plan(recordsPerChunk: number): FanOutChunk[] {
    return Object.entries(objects).flatMap(([key, records]) => {
      const n = Math.max(1, Math.ceil(records / recordsPerChunk));
      return Array.from({ length: n }, (_, index) => ({
        key: `input/${key}`,
        etag: `"${key}"`,
        index,
        start: index * 1000,
        end: (index + 1) * 1000,
        firstLine: index * recordsPerChunk + 1,
        records: Math.min(recordsPerChunk, records - index * recordsPerChunk),
        lastOfObject: index === n - 1,
      }));
    });
  }

  const activities = {
    async describeEndpointStatus({ endpointName }: { endpointName: string }) {
      calls.push(`describeEndpointStatus ${endpointName}`);
      return { status: behaviour.endpointStatus ?? 'InService' };
    },
    async countS3Records({ s3Uri }: { s3Uri: string }) {
      calls.push(`countS3Records ${s3Uri}`);
      const records = Object.values(objects).reduce((a, b) => a + b, 0);
      return { objects: Object.keys(objects).length, records, bytes: records * 100 };
    },
    async planFanOutChunks({ recordsPerChunk, maxChunks, cursor }: { recordsPerChunk: number; maxChunks: number; cursor?: FanOutCursor }) {
      const from = Number(cursor?.after ?? 0);
      calls.push(`planFanOutChunks from ${from}`);
      const all = plan(recordsPerChunk);
      const chunks = all.slice(from, from + maxChunks);
      return { chunks, next: from + maxChunks < all.length ? { after: String(from + maxChunks) } : undefined };
    },
    async invokeFanOutChunk({ chunk }: { job: FanOutJob; chunk: FanOutChunk }): Promise<ChunkOutcome> {
      const key = id(chunk);
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      if (parts.has(key) || outputs.has(chunk.key)) {
        calls.push(`skip ${key}`);
        return { records: chunk.records, skipped: true };
      }
      calls.push(`invoke ${key}`);
      if (behaviour.crashOnce?.has(key) && attempt === 1) throw new Error('worker lost mid-chunk');
      if (behaviour.refuse?.has(key)) {
        throw ApplicationFailure.nonRetryable(
          `ClientError: Bad HTTP status received from algorithm: 422 for line ${chunk.firstLine} of s3://fan-out/${chunk.key}: bad prompt`,
          'RecordFailed',
        );
      }
      parts.set(key, chunk.records);
      return { records: chunk.records, skipped: false };
    },
    async assembleFanOutObject({ key, chunks }: { job: FanOutJob; key: string; etag: string; chunks: number }) {
      calls.push(`assemble ${key}`);
      // As the real one: an object this batch already wrote is not written again.
      if (outputs.has(key)) return { outputS3Uri: `${OUT}${key}.out`, bytes: 0 };
      let records = 0;
      for (let i = 0; i < chunks; i++) {
        const n = parts.get(`${key}#${i}`);
        if (n === undefined) throw ApplicationFailure.nonRetryable(`part ${i} of ${key} is missing`, 'PartMissing');
        records += n;
      }
      outputs.set(key, records);
      for (let i = 0; i < chunks; i++) parts.delete(`${key}#${i}`);
      return { outputS3Uri: `${OUT}${key}.out`, bytes: records * 10 };
    },
    async countTransformOutputs() {
      calls.push('countTransformOutputs');
      const records = [...outputs.values()].reduce((a, b) => a + b, 0);
      return { objects: outputs.size, records, bytes: records * 10, missingObjects: Object.keys(objects).length - outputs.size };
    },
  };
  return { activities, calls, parts, outputs, attempts, behaviour };
}

type Fake = ReturnType<typeof createFakeFanOut>;
type Start = (input: unknown, workflowId?: string, type?: string) => Promise<WorkflowHandle>;

async function withWorker<T>(fake: Fake, run: (start: Start) => Promise<T>): Promise<T> {
  return suite.withWorker(fake.activities, (taskQueue, n) => {
    const start: Start = (i, id = `fan-out-${n}-${Math.random()}`, type = 'batchFanOut') =>
      suite.env.client.workflow.start(type, { taskQueue, workflowId: id, args: [i] });
    return run(start);
  });
}

const failureOf = async (h: WorkflowHandle) => ((await h.result().catch((e: unknown) => e)) as WorkflowFailedError).cause as Error;

describe('batchFanOut', () => {
  it('invokes every chunk once, assembles each object after its last chunk, counts the outputs', async () => {
    const fake = createFakeFanOut();
    const result = await withWorker(fake, async (start) => (await start(input())).result() as Promise<BatchFanOutResult>);
    expect(result).toMatchObject({
      inputObjects: 2,
      inputRecords: 200,
      outputObjects: 2,
      outputRecords: 200,
      missingRecords: 0,
      chunks: 5,
      chunksSkipped: 0,
      runs: 1,
    });
    expect(fake.calls.filter((c) => c.startsWith('invoke')).sort()).toEqual(
      ['invoke input/a.jsonl#0', 'invoke input/a.jsonl#1', 'invoke input/a.jsonl#2', 'invoke input/b.jsonl#0', 'invoke input/b.jsonl#1'].sort(),
    );
    // Each object is assembled once, after all of its chunks.
    const at = (c: string) => fake.calls.indexOf(c);
    expect(at('assemble input/a.jsonl')).toBeGreaterThan(Math.max(at('invoke input/a.jsonl#2'), at('invoke input/a.jsonl#1')));
    expect(fake.calls.filter((c) => c.startsWith('assemble'))).toHaveLength(2);
    expect(fake.outputs).toEqual(
      new Map([
        ['input/a.jsonl', 130],
        ['input/b.jsonl', 70],
      ]),
    );
    expect(fake.parts.size).toBe(0);
  });

  it('a chunk whose worker dies is retried alone; finished chunks are not redone', async () => {
    const fake = createFakeFanOut({ crashOnce: new Set(['input/a.jsonl#1']) });
    const result = await withWorker(fake, async (start) => (await start(input())).result() as Promise<BatchFanOutResult>);
    expect(result.outputRecords).toBe(200);
    expect(fake.attempts.get('input/a.jsonl#1')).toBe(2);
    for (const [chunk, n] of fake.attempts) if (chunk !== 'input/a.jsonl#1') expect(n, chunk).toBe(1);
  });

  it('a refused record fails the batch like a transform job; a re-run under the same id skips the finished chunks', async () => {
    const fake = createFakeFanOut({ objects: { 'a.jsonl': 100, 'b.jsonl': 150 }, refuse: new Set(['input/b.jsonl#1']) });
    const { err, rerun, writtenBeforeRerun } = await withWorker(fake, async (start) => {
      const err = await failureOf(await start(input({ maxConcurrency: 1 }), 'fan-out-rerun'));
      const writtenBeforeRerun = [...fake.outputs.keys()];
      const beforeRerun = fake.calls.length;
      fake.behaviour.refuse = undefined; // the bad record fixed in the container's eyes
      const result = (await (await start(input({ maxConcurrency: 1 }), 'fan-out-rerun')).result()) as BatchFanOutResult;
      return { err, writtenBeforeRerun, rerun: { result, calls: fake.calls.slice(beforeRerun) } };
    });
    expect(err.message).toMatch(
      /^Batch fan-out over live failed at step invokeChunks: ClientError: Bad HTTP status received from algorithm: 422 for line 51 of s3:\/\/fan-out\/input\/b.jsonl/,
    );
    // Job semantics: the complete object kept its output, the failing one got none.
    expect(writtenBeforeRerun).toEqual(['input/a.jsonl']);
    // The re-run redoes only the failed chunk and those after it.
    expect(rerun.calls.filter((c) => c.startsWith('invoke') || c.startsWith('skip'))).toEqual([
      'skip input/a.jsonl#0',
      'skip input/a.jsonl#1',
      'skip input/b.jsonl#0',
      'invoke input/b.jsonl#1',
      'invoke input/b.jsonl#2',
    ]);
    expect(rerun.result).toMatchObject({ outputRecords: 250, chunksSkipped: 3 });
  });

  it('continues as new every chunksPerRun chunks and carries the progress over', async () => {
    const fake = createFakeFanOut({ objects: { 'a.jsonl': 230, 'b.jsonl': 120 } });
    const { result, progress, lastRunEvents } = await withWorker(fake, async (start) => {
      const h = await start(input({ chunksPerRun: 2 }));
      const result = (await h.result()) as BatchFanOutResult;
      const progress = await h.query<Progress>('progress');
      return { result, progress, lastRunEvents: (await h.fetchHistory()).events?.length ?? 0 };
    });
    // 5 + 3 chunks, 2 a run: 4 runs; each chunk invoked exactly once across them.
    expect(result).toMatchObject({ runs: 4, chunks: 8, outputRecords: 350, inputRecords: 350 });
    expect(fake.calls.filter((c) => c.startsWith('invoke'))).toHaveLength(8);
    expect(fake.calls.filter((c) => c.startsWith('countS3Records'))).toHaveLength(1);
    expect(progress.resources).toMatchObject({ recordsDone: '350', recordsTotal: '350', run: '4' });
    expect(progress.lastStatus).toBe('350/350 records');
    expect(lastRunEvents).toBeLessThan(60);
  });

  it('refuses an endpoint that is not InService before touching the input', async () => {
    const fake = createFakeFanOut({ endpointStatus: 'Creating' });
    const err = await withWorker(fake, async (start) => failureOf(await start(input())));
    expect(err.message).toContain('endpointName: endpoint live is Creating; a fan-out needs an InService endpoint');
    expect(fake.calls).toEqual(['describeEndpointStatus live']);
  });

  it('rejects bad input before any activity, naming each field', async () => {
    const fake = createFakeFanOut();
    const err = await withWorker(fake, async (start) =>
      failureOf(
        await start({
          mode: 'endpoint',
          endpointName: 'not a name!',
          input: { s3Uri: IN },
          output: { s3Uri: `${IN}out/` },
          maxConcurrency: 65,
          recordsPerChunk: 0,
        }),
      ),
    );
    expect(err.message).toMatch(/^Invalid batchFanOut input: /);
    expect(err.message).toContain('endpointName: ');
    expect(err.message).toContain('maxConcurrency: must be at most 64');
    expect(err.message).toContain('recordsPerChunk: must be at least 1');
    expect(err.message).toContain('output.s3Uri: must not lie inside input.s3Uri');
    expect(fake.calls).toEqual([]);
  });

  it('batchTransform hands a mode "endpoint" input to batchFanOut', async () => {
    const fake = createFakeFanOut();
    const result = await withWorker(fake, async (start) => (await start(input(), undefined, 'batchTransform')).result() as Promise<BatchFanOutResult>);
    expect(result).toMatchObject({ endpointName: 'live', outputRecords: 200, chunks: 5 });
  });
});
