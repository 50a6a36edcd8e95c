// End to end for the offline flows: a Batch Transform job of a few hundred prompts run for real
// by the local cloud through batchTransform, and async inference through asyncInvoke.
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ListModelsCommand, ListTransformJobsCommand } from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchTransformInput } from '../../common/batch-input.js';
import type { DeployEndpointInput } from '../../common/endpoint-input.js';
import { CONTROL_TASK_QUEUE } from '../../common/task-queues.js';
import { readExample } from '../../dev/tools.js';
import type { AsyncInvokeResult } from '../../workflows/async-invoke.js';
import type { BatchTransformResult } from '../../workflows/batch-transform.js';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';

let stack: E2eStack;
beforeAll(async () => {
  stack = await startE2eStack();
  await stack.s3.send(new CreateBucketCommand({ Bucket: 'e2e-batch' }));
});
afterAll(() => stack?.stop());

const text = async (key: string) => (await stack.s3.send(new GetObjectCommand({ Bucket: 'e2e-batch', Key: key }))).Body!.transformToString();

describe('batchTransform on the local cloud', () => {
  it('transforms 300 prompts in two objects, in order, and removes the model it made', async () => {
    const prompts = (n: number, from: number) =>
      Array.from({ length: n }, (_, i) => JSON.stringify({ inputs: `Story ${from + i}: Once upon a time`, parameters: { max_new_tokens: 6 } })).join('\n') +
      '\n';
    await stack.s3.send(new PutObjectCommand({ Bucket: 'e2e-batch', Key: 'input/a.jsonl', Body: prompts(200, 0) }));
    await stack.s3.send(new PutObjectCommand({ Bucket: 'e2e-batch', Key: 'input/b.jsonl', Body: prompts(100, 200) }));
    const input: BatchTransformInput = {
      ...readExample<BatchTransformInput>('batch-local.json'),
      input: { s3Uri: 's3://e2e-batch/input/', contentType: 'application/json', splitType: 'Line' },
      output: { s3Uri: 's3://e2e-batch/output/', accept: 'application/json' },
    };
    const result: BatchTransformResult = await stack.env.client.workflow.execute('batchTransform', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'batch-e2e',
      args: [input],
    });
    expect(result).toMatchObject({ inputObjects: 2, inputRecords: 300, outputObjects: 2, outputRecords: 300, missingRecords: 0 });

    const lines = (await text('output/a.jsonl.out')).trimEnd().split('\n');
    expect(lines).toHaveLength(200);
    for (const line of lines) expect(JSON.parse(line)[0].generated_text).toEqual(expect.any(String));
    expect((await text('output/b.jsonl.out')).trimEnd().split('\n')).toHaveLength(100);

    const jobs = await stack.sagemaker.send(new ListTransformJobsCommand({}));
    expect(jobs.TransformJobSummaries?.map((j) => [j.TransformJobName, j.TransformJobStatus])).toEqual([[result.jobName, 'Completed']]);
    const models = await stack.sagemaker.send(new ListModelsCommand({}));
    expect(models.Models ?? []).toEqual([]);
  });
});

describe('asyncInvoke on the local cloud', () => {
  it('deploys an async endpoint, answers a request from S3, and tears it down', async () => {
    const deploy: DeployEndpointInput = {
      ...readExample<DeployEndpointInput>('deploy-local.json'),
      endpointName: 'e2e-async',
      autoscaling: undefined,
      asyncInference: { outputS3Uri: 's3://e2e-batch/async-out/', failureS3Uri: 's3://e2e-batch/async-failed/' },
    };
    await stack.env.client.workflow.execute('deployEndpoint', { taskQueue: CONTROL_TASK_QUEUE, workflowId: 'deploy-e2e-async', args: [deploy] });
    await stack.s3.send(
      new PutObjectCommand({
        Bucket: 'e2e-batch',
        Key: 'async-in/req.json',
        Body: JSON.stringify({ inputs: 'Once upon a time', parameters: { max_new_tokens: 12 } }),
      }),
    );
    const result: AsyncInvokeResult = await stack.env.client.workflow.execute('asyncInvoke', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'async-e2e',
      args: [{ endpointName: 'e2e-async', inputLocation: 's3://e2e-batch/async-in/req.json', timeouts: { resultMinutes: 2, pollIntervalSeconds: 0.5 } }],
    });
    expect(result.outputLocation).toMatch(/^s3:\/\/e2e-batch\/async-out\//);
    expect(JSON.parse(result.body)[0].generated_text.length).toBeGreaterThan(0);

    await stack.env.client.workflow.execute('teardownEndpoint', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'teardown-e2e-async',
      args: [{ endpointName: 'e2e-async' }],
    });
  });
});
