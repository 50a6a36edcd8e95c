// End to end for batch fan-out (mode "endpoint") on the embedded local cloud: 60 prompts in two
// objects through a deployed tiny-model endpoint, small chunks and continue-as-new, compared with
// what a transform job (mode "job") writes for the same input: same keys, line count and order.
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchFanOutInput, BatchTransformInput } from '../../common/batch-input.js';
import type { DeployEndpointInput } from '../../common/endpoint-input.js';
import { CONTROL_TASK_QUEUE } from '../../common/task-queues.js';
import { readExample } from '../../dev/tools.js';
import type { BatchFanOutResult } from '../../workflows/batch-fan-out.js';
import type { BatchTransformResult } from '../../workflows/batch-transform.js';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';

const BUCKET = 'e2e-fan-out';
let stack: E2eStack;
beforeAll(async () => {
  stack = await startE2eStack();
  await stack.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(() => stack?.stop());

const text = async (key: string) => (await stack.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();
const keys = async (prefix: string) => ((await stack.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!);
// return_full_text: the answer starts with its prompt, so the order of the lines can be checked.
const prompts = (n: number, from: number) =>
  Array.from({ length: n }, (_, i) =>
    JSON.stringify({ inputs: `Story ${from + i}: Once upon a time`, parameters: { max_new_tokens: 4, return_full_text: true } }),
  ).join('\n') + '\n\n';

describe('batchFanOut on the local cloud', () => {
  it('writes the same layout, line count and order as a transform job over the same input', async () => {
    await stack.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'input/a.jsonl', Body: prompts(37, 0) }));
    await stack.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'input/sub/b.jsonl', Body: prompts(23, 37) }));
    const deploy: DeployEndpointInput = {
      ...readExample<DeployEndpointInput>('deploy-local.json'),
      endpointName: 'e2e-fan-out',
      autoscaling: undefined,
      smokeTest: false,
    };
    await stack.env.client.workflow.execute('deployEndpoint', { taskQueue: CONTROL_TASK_QUEUE, workflowId: 'deploy-e2e-fan-out', args: [deploy] });

    const source = { s3Uri: `s3://${BUCKET}/input/`, contentType: 'application/json', splitType: 'Line' as const };
    const job: BatchTransformInput = {
      ...readExample<BatchTransformInput>('batch-local.json'),
      instanceCount: 1,
      input: source,
      output: { s3Uri: `s3://${BUCKET}/out-job/`, accept: 'application/json' },
    };
    const fanOut: BatchFanOutInput = {
      mode: 'endpoint',
      endpointName: 'e2e-fan-out',
      input: source,
      output: { s3Uri: `s3://${BUCKET}/out-fan-out/`, accept: 'application/json' },
      recordsPerChunk: 7,
      maxConcurrency: 3,
      chunksPerRun: 4,
    };
    const [jobResult, fanOutResult] = await Promise.all([
      stack.env.client.workflow.execute('batchTransform', {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId: 'e2e-fan-out-job',
        args: [job],
      }) as Promise<BatchTransformResult>,
      stack.env.client.workflow.execute('batchFanOut', {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId: 'e2e-fan-out',
        args: [fanOut],
      }) as Promise<BatchFanOutResult>,
    ]);
    expect(jobResult).toMatchObject({ inputRecords: 60, outputRecords: 60, outputObjects: 2 });
    // 6 + 4 chunks of at most 7 records, 4 a run: three runs.
    expect(fanOutResult).toMatchObject({ inputObjects: 2, inputRecords: 60, outputObjects: 2, outputRecords: 60, missingRecords: 0, chunks: 10, runs: 3 });

    // Same layout, and nothing else left behind (the staging parts are gone).
    expect(await keys('out-fan-out/')).toEqual(['out-fan-out/a.jsonl.out', 'out-fan-out/sub/b.jsonl.out']);
    expect((await keys('out-job/')).map((k) => k.replace('out-job/', ''))).toEqual(['a.jsonl.out', 'sub/b.jsonl.out']);
    for (const [name, from, count] of [
      ['a.jsonl.out', 0, 37],
      ['sub/b.jsonl.out', 37, 23],
    ] as const) {
      const fanned = (await text(`out-fan-out/${name}`)).split('\n');
      const jobbed = (await text(`out-job/${name}`)).split('\n');
      expect(fanned.at(-1)).toBe(''); // every line terminated, as AssembleWith Line writes it
      expect(fanned).toHaveLength(count + 1);
      expect(fanned).toHaveLength(jobbed.length);
      fanned.slice(0, -1).forEach((line, i) => {
        const generated = JSON.parse(line)[0].generated_text as string;
        expect(generated.startsWith(`Story ${from + i}: Once upon a time`), generated).toBe(true);
        expect(JSON.parse(jobbed[i])[0].generated_text.startsWith(`Story ${from + i}:`)).toBe(true);
      });
    }

    // A record the container refuses fails the batch as it fails a transform job, naming its line.
    await stack.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'bad/c.jsonl', Body: `${prompts(1, 0)}{"prompt": "not TGI"}\n` }));
    const failed = await stack.env.client.workflow
      .execute('batchFanOut', {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId: 'e2e-fan-out-bad',
        args: [{ ...fanOut, input: { ...source, s3Uri: `s3://${BUCKET}/bad/` }, output: { ...fanOut.output, s3Uri: `s3://${BUCKET}/out-bad/` } }],
      })
      .catch((e: Error & { cause?: Error }) => e.cause);
    expect(failed?.message).toMatch(/Bad HTTP status received from algorithm: 4\d\d for line 3 of s3:\/\/e2e-fan-out\/bad\/c\.jsonl/);
    expect(await keys('out-bad/c.jsonl.out')).toEqual([]);

    await stack.env.client.workflow.execute('teardownEndpoint', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'teardown-e2e-fan-out',
      args: [{ endpointName: 'e2e-fan-out' }],
    });
  });

  it('refuses an endpoint that does not exist before reading any input', async () => {
    const err = await stack.env.client.workflow
      .execute('batchFanOut', {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId: 'e2e-fan-out-missing',
        args: [{ mode: 'endpoint', endpointName: 'nowhere', input: { s3Uri: `s3://${BUCKET}/input/` }, output: { s3Uri: `s3://${BUCKET}/out-x/` } }],
      })
      .catch((e: Error) => e);
    expect(String((err as Error & { cause?: Error }).cause?.message)).toContain('endpointName: endpoint nowhere does not exist');
  });
});
