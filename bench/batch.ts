// Batch figures on the embedded local cloud: records/s of batchTransform jobs at several
// instance × MaxConcurrentTransforms settings vs. the same records sent one by one through
// InvokeEndpoint (the model process's ceiling), the job's start-up overhead (workflow time
// not spent transforming), the history size of a batch run, and batch fan-out (mode "endpoint")
// over a 1-instance endpoint next to a 1-instance job with the same requests in flight.
// Prints and writes a table (bench/report.ts); asserts nothing.
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { Command } from 'commander';
import { createRuntimeActivities } from '../activities/runtime.js';
import type { BatchFanOutInput, BatchTransformInput } from '../common/batch-input.js';
import type { DeployEndpointInput } from '../common/endpoint-input.js';
import { CONTROL_TASK_QUEUE } from '../common/task-queues.js';
import { readExample } from '../dev/tools.js';
import type { BatchFanOutResult } from '../workflows/batch-fan-out.js';
import type { BatchTransformResult } from '../workflows/batch-transform.js';
import { publishBench } from './report.js';
import { benchWithStack } from './with-stack.js';
import { integerOption } from '../clients/integer-option.js';

const opts = new Command('bench-batch')
  .option('--records <n>', 'records per job', integerOption(1), 200)
  .option('--max-new-tokens <n>', 'tokens generated per record', integerOption(1), 32)
  .option('--only-fan-out', 'skip the job settings other than the 1-instance one the fan-out is compared with')
  .parse()
  .opts<{ records: number; maxNewTokens: number; onlyFanOut?: boolean }>();

benchWithStack('batch', async (client) => {
  const s3 = new S3Client({ forcePathStyle: true });
  const records = Array.from({ length: opts.records }, (_, i) => ({
    inputs: `Story ${i}: Once upon a time`,
    parameters: { max_new_tokens: opts.maxNewTokens },
  }));
  await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
  await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: 'in/prompts.jsonl', Body: records.map((r) => JSON.stringify(r)).join('\n') + '\n' }));
  const base = readExample<BatchTransformInput>('batch-local.json');

  const rows: string[][] = [];
  const settings = opts.onlyFanOut
    ? [[1, 2]]
    : [
        [1, 1],
        [1, 2],
        [2, 1],
        [2, 2],
      ];
  for (const [instanceCount, maxConcurrentTransforms] of settings) {
    const started = performance.now();
    const handle = await client.workflow.start('batchTransform', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: `bench-batch-${instanceCount}x${maxConcurrentTransforms}`,
      args: [
        {
          ...base,
          input: { ...base.input, s3Uri: 's3://bench/in/' },
          output: { ...base.output, s3Uri: `s3://bench/out-${instanceCount}x${maxConcurrentTransforms}/` },
          instanceCount,
          maxConcurrentTransforms,
          timeouts: { jobMinutes: 30, pollIntervalSeconds: 0.25 },
        },
      ],
    });
    const result = (await handle.result()) as BatchTransformResult;
    const wallSeconds = (performance.now() - started) / 1000;
    const jobSeconds = result.jobDurationSeconds ?? NaN;
    const events = (await handle.fetchHistory()).events?.length;
    rows.push([
      `transform job, ${instanceCount} instance(s) × ${maxConcurrentTransforms} concurrent`,
      (result.outputRecords / wallSeconds).toFixed(1),
      (result.outputRecords / jobSeconds).toFixed(1),
      wallSeconds.toFixed(1),
      `job ${jobSeconds.toFixed(1)} s; start-up and bookkeeping ${(wallSeconds - jobSeconds).toFixed(1)} s; history events ${events}`,
    ]);
  }

  // The ceiling: one endpoint instance, records sent one at a time.
  const deploy: DeployEndpointInput = {
    ...readExample<DeployEndpointInput>('deploy-local.json'),
    endpointName: 'bench-batch',
    autoscaling: undefined,
    smokeTest: false,
  };
  await client.workflow.execute('deployEndpoint', { taskQueue: CONTROL_TASK_QUEUE, workflowId: 'deploy-bench-batch', args: [deploy] });
  const invoke = createRuntimeActivities({ runtime: new SageMakerRuntimeClient({}) }).invokeEndpoint;
  const t0 = performance.now();
  for (const r of records) await invoke({ endpointName: 'bench-batch', inputs: r.inputs, parameters: r.parameters });
  const seconds = (performance.now() - t0) / 1000;
  rows.push(['InvokeEndpoint one by one, 1 instance', (records.length / seconds).toFixed(1), '-', seconds.toFixed(1), 'the endpoint already up']);

  // Fan-out over the same 1-instance endpoint, 2 requests in flight like the 1 × 2 job, end to end
  // (the endpoint is already up: that start-up is what a fan-out saves), then 4 in flight.
  for (const [maxConcurrency, invocationsPerChunk] of [
    [1, 2],
    [2, 2],
  ]) {
    const fanOut: BatchFanOutInput = {
      mode: 'endpoint',
      endpointName: 'bench-batch',
      input: { ...base.input, s3Uri: 's3://bench/in/' },
      output: { ...base.output, s3Uri: `s3://bench/out-fan-out-${maxConcurrency}x${invocationsPerChunk}/` },
      maxConcurrency,
      invocationsPerChunk,
      recordsPerChunk: 25,
    };
    const started = performance.now();
    const handle = await client.workflow.start('batchFanOut', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: `bench-fan-out-${maxConcurrency}x${invocationsPerChunk}`,
      args: [fanOut],
    });
    const result = (await handle.result()) as BatchFanOutResult;
    const wallSeconds = (performance.now() - started) / 1000;
    const inFlight = maxConcurrency * invocationsPerChunk;
    rows.push([
      `fan-out over the endpoint, ${maxConcurrency} chunk(s) × ${invocationsPerChunk} invocations = ${inFlight} in flight`,
      (result.outputRecords / wallSeconds).toFixed(1),
      '-',
      wallSeconds.toFixed(1),
      `${result.chunks} chunks, ${result.runs} run(s); the endpoint already up`,
    ]);
  }
  await client.workflow.execute('teardownEndpoint', {
    taskQueue: CONTROL_TASK_QUEUE,
    workflowId: 'teardown-bench-batch',
    args: [{ endpointName: 'bench-batch' }],
  });
  publishBench('batch', {
    title: 'Batch transform jobs and fan-out over an endpoint',
    method: `bench/batch.ts: ${opts.records} records (one JSON Lines file), max_new_tokens ${opts.maxNewTokens}, tiny model, 1 thread per model process, embedded stack. End to end = from starting the workflow to its result; a job also starts and stops its instances, a fan-out uses a 1-instance endpoint deployed before it (compare it with the 1 × 2 job at equal instance count).`,
    columns: ['run', 'records/s end to end', 'records/s in the job', 'wall s', 'note'],
    rows,
  });
});
