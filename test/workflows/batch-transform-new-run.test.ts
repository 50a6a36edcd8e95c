// batchTransform across runs of one workflow, on a real dev server (the time-skipping server
// cannot reset): a new run (a reset here; a retry after a run timeout is the same) must adopt
// the transform job and model its first run created, since both are named and tagged from the
// first run's id. In-memory activities.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BatchTransformResult } from '../../workflows/batch-transform.js';
import { devServerEnv, workflowBundle } from '../support/temporal.js';
import { createFakeCloud } from './fake-activities.js';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await devServerEnv();
  await workflowBundle();
});
afterAll(async () => {
  await env?.teardown();
});

const IN = 's3://demo-batch/input/';
const OUT = 's3://demo-batch/output/';

it('a new run of the workflow adopts the job its first run created instead of calling it a conflict', async () => {
  const cloud = createFakeCloud({ jobPolls: 8, s3Records: { [IN]: 300, [OUT]: 300 } });
  const taskQueue = 'batch-new-run';
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: cloud.activities });
  const result = await worker.runUntil(async () => {
    const first = await env.client.workflow.start('batchTransform', {
      taskQueue,
      workflowId: 'batch-new-run',
      args: [
        {
          model: { image: 'huggingface-pytorch-tgi-inference:local', hfModelId: 'ggml-org/tiny-llamas' },
          input: { s3Uri: IN },
          output: { s3Uri: OUT },
          instanceType: 'ml.m5.large',
          timeouts: { jobMinutes: 60, pollIntervalSeconds: 0.2 },
        },
      ],
    });
    const firstRunId = first.firstExecutionRunId!;
    while (cloud.polls() < 2) await new Promise((r) => setTimeout(r, 50));
    // Back to the end of the first workflow task: the new run starts over, creating the job again.
    const history = await first.fetchHistory();
    const firstTask = history.events!.find((e) => e.workflowTaskCompletedEventAttributes)!;
    const { runId } = await env.client.workflowService.resetWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId: first.workflowId, runId: firstRunId },
      workflowTaskFinishEventId: firstTask.eventId,
      requestId: 'reset-batch-new-run',
      reason: 'test: a new run of the same workflow',
    });
    expect(runId).not.toBe(firstRunId);
    return (await env.client.workflow.getHandle(first.workflowId, runId!).result()) as BatchTransformResult;
  });
  expect(result).toMatchObject({ outputRecords: 300, missingRecords: 0 });
  expect(cloud.calls.filter((c) => c.startsWith('createTransformJob'))).toEqual([
    `createTransformJob ${result.jobName}`,
    `createTransformJob ${result.jobName}`,
  ]);
  expect(cloud.jobs.size).toBe(1);
  // The job's model was the first run's too, so the new run deleted it at the end.
  expect(cloud.models.size).toBe(0);
});
