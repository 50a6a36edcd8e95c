// batchTransform on the time-skipping test server, with in-memory activities.
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { batchTransformInputSchema, type BatchTransformInput } from '../../common/batch-input.js';
import type { BatchTransformResult } from '../../workflows/batch-transform.js';
import type { Progress } from '../../workflows/progress.js';
import { timeSkippingSuite } from '../support/time-skipping-suite.js';
import { createFakeCloud, type FakeBehaviour } from './fake-activities.js';

const suite = timeSkippingSuite('batch-test');

const IN = 's3://demo-batch/input/';
const OUT = 's3://demo-batch/output/';
const input = (overrides: Partial<BatchTransformInput> = {}): BatchTransformInput => ({
  model: { image: 'huggingface-pytorch-tgi-inference:local', hfModelId: 'ggml-org/tiny-llamas' },
  input: { s3Uri: IN },
  output: { s3Uri: OUT },
  instanceType: 'ml.m5.large',
  timeouts: { jobMinutes: 1200, pollIntervalSeconds: 60 },
  ...overrides,
});

type Start = (input: unknown, workflowId?: string) => Promise<WorkflowHandle>;

async function withWorker<T>(behaviour: FakeBehaviour, run: (start: Start, cloud: ReturnType<typeof createFakeCloud>) => Promise<T>) {
  const cloud = createFakeCloud({ s3Records: { [IN]: 300, [OUT]: 300 }, ...behaviour });
  const result = await suite.withWorker(cloud.activities, (taskQueue, n) => {
    const start: Start = (i, id = `batch-${n}-${Math.random()}`) => suite.env.client.workflow.start('batchTransform', { taskQueue, workflowId: id, args: [i] });
    return run(start, cloud);
  });
  return { result, cloud };
}

const failureOf = async (h: WorkflowHandle) => ((await h.result().catch((e: unknown) => e)) as WorkflowFailedError).cause as Error;

describe('batchTransform', () => {
  it('creates a model for the job, runs the job, counts records and deletes the model', async () => {
    const { result, cloud } = await withWorker({ jobPolls: 3 }, async (start) => (await start(input())).result() as Promise<BatchTransformResult>);
    expect(result.jobName).toMatch(/^batch-[0-9a-f]{8}$/);
    expect(result).toMatchObject({ inputRecords: 300, outputRecords: 300, missingRecords: 0, outputS3Uri: OUT, jobDurationSeconds: 600 });
    expect(cloud.calls.filter((c) => !c.startsWith('await'))).toEqual([
      'ensureExecutionRole',
      `createModel ${result.jobName}-model`,
      `countS3Records ${IN}`,
      `createTransformJob ${result.jobName}`,
      `countTransformOutputs ${OUT}`,
      `deleteModel ${result.jobName}-model`,
    ]);
    expect(cloud.models.size).toBe(0);
  });

  it('uses an existing model as is and leaves it in place', async () => {
    const { result, cloud } = await withWorker(
      {},
      async (start) => (await start(input({ model: { name: 'shared-model' } }))).result() as Promise<BatchTransformResult>,
    );
    expect(result.modelName).toBe('shared-model');
    expect(cloud.calls.some((c) => c.startsWith('createModel') || c.startsWith('deleteModel'))).toBe(false);
  });

  it('waits a 10-hour job at the same history cost as a 1-minute one', async () => {
    const lengths = [];
    for (const jobPolls of [1, 600]) {
      const { result } = await withWorker({ jobPolls }, async (start) => {
        const h = await start(input());
        await h.result();
        return (await h.fetchHistory()).events?.length;
      });
      lengths.push(result);
    }
    expect(lengths[1]).toBe(lengths[0]);
  });

  it('fails with the FailureReason and still deletes the model it created', async () => {
    const reason = 'ClientError: record 17 of input/prompts.jsonl: 422 from primary container';
    const { result: err, cloud } = await withWorker({ jobEnd: { status: 'Failed', reason } }, async (start) => failureOf(await start(input())));
    expect(err.message).toMatch(/^Batch transform batch-\w+ failed at step waitForJob: Transform job batch-\w+ failed: ClientError: record 17/);
    expect(cloud.models.size).toBe(0);
  });

  it('cancelling stops the job and waits for Stopped', async () => {
    const { result, cloud } = await withWorker({ jobPolls: 1_000_000 }, async (start, c) => {
      // Real time passes here (nothing awaits a result, so the server does not skip): poll fast.
      const h = await start(input({ timeouts: { jobMinutes: 60, pollIntervalSeconds: 0.5 } }));
      while (c.polls() < 2) await new Promise((r) => setTimeout(r, 50));
      await h.cancel();
      const err = await h.result().catch((e: unknown) => e);
      return { err, progress: await h.query<Progress>('progress') };
    });
    expect((result.err as WorkflowFailedError).cause?.name).toBe('CancelledFailure');
    expect(result.progress.status).toBe('cancelled');
    expect([...cloud.jobs.values()].map((j) => j.status)).toEqual(['Stopped']);
    expect(cloud.calls).toContain('awaitTransformJobStopped');
    expect(cloud.models.size).toBe(0);
  });

  it('a missed deadline stops the job and says so', async () => {
    const { result: err, cloud } = await withWorker({ jobPolls: 1_000_000 }, async (start) =>
      failureOf(await start(input({ timeouts: { jobMinutes: 30, pollIntervalSeconds: 60 } }))),
    );
    expect(err.message).toContain('did not finish within 30 minutes; it was stopped');
    expect([...cloud.jobs.values()].map((j) => j.status)).toEqual(['Stopped']);
  });

  it('the job name is stable within a run and differs between workflows, so retries never duplicate a job', async () => {
    const { result, cloud } = await withWorker({}, async (start) => {
      const a = (await (await start(input(), 'batch-same')).result()) as BatchTransformResult;
      const b = (await (await start(input(), 'batch-other')).result()) as BatchTransformResult;
      return [a, b];
    });
    expect(result[0].jobName).not.toBe(result[1].jobName);
    expect(cloud.jobs.size).toBe(2);
  });

  it('rejects bad input before any activity', async () => {
    const bad = {
      model: { name: 'm' },
      input: { s3Uri: 's3://demo-batch/in/' },
      output: { s3Uri: 's3://demo-batch/in/out/' },
      instanceType: 'big',
      maxConcurrentTransforms: 0,
    };
    const { result: err, cloud } = await withWorker({}, async (start) => failureOf(await start(bad)));
    expect(err.message).toMatch(/^Invalid batchTransform input: /);
    expect(err.message).toContain('instanceType: must look like ml.<family>.<size>');
    expect(err.message).toContain('maxConcurrentTransforms: Too small');
    expect(err.message).toContain('output.s3Uri: must not lie inside input.s3Uri');
    expect(cloud.calls).toEqual([]);
  });

  it('checks input and output as S3 prefixes, not folders', () => {
    const overlap = (inUri: string, outUri: string) =>
      batchTransformInputSchema
        .safeParse(input({ input: { s3Uri: inUri }, output: { s3Uri: outUri } }))
        .error?.issues.some((i) => i.path.join('.') === 'output.s3Uri') ?? false;
    // `data` without a slash takes data-out/… in S3, so outputs there would be the next run's inputs.
    expect(overlap('s3://demo-batch/data', 's3://demo-batch/data-out/')).toBe(true);
    expect(overlap('s3://demo-batch/data', 's3://demo-batch/data-out')).toBe(true);
    // Outputs go below <output>/, and <output>/x… lies under an input prefix <output>/x.
    expect(overlap('s3://demo-batch/out/x', 's3://demo-batch/out')).toBe(true);
    expect(overlap('s3://demo-batch/in/', 's3://demo-batch/in/out/')).toBe(true);
    expect(overlap('s3://demo-batch', 's3://demo-batch/out/')).toBe(true);
    expect(overlap('s3://demo-batch/data/', 's3://demo-batch/data-out/')).toBe(false);
    expect(overlap('s3://demo-batch/in/', 's3://other-bucket/in/')).toBe(false);
  });

  it('finding 1: a cancel while CreateTransformJob is in flight still stops the job it makes', async () => {
    const { result, cloud } = await withWorker({ jobPolls: 1_000_000, createDelayMs: 1500 }, async (start, c) => {
      const h = await start(input({ timeouts: { jobMinutes: 60, pollIntervalSeconds: 0.5 } }));
      while (!c.calls.some((call) => call.startsWith('createTransformJob'))) await new Promise((r) => setTimeout(r, 20));
      await h.cancel();
      return h.result().catch((e: unknown) => e);
    });
    expect((result as WorkflowFailedError).cause?.name).toBe('CancelledFailure');
    expect([...cloud.jobs.values()].map((j) => j.status)).toEqual(['Stopped']);
  });
});
