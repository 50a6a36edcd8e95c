// Batch figures on the embedded local cloud: records/s of batchTransform jobs at several
// instance × MaxConcurrentTransforms settings vs. the same records sent one by one through
// InvokeEndpoint (the model process's ceiling), the job's start-up overhead (workflow time
// not spent transforming), and the history size of a batch run. Prints; asserts nothing.
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { Command } from 'commander';
import { createRuntimeActivities } from '../activities/runtime.js';
import type { BatchTransformInput } from '../common/batch-input.js';
import type { DeployEndpointInput } from '../common/endpoint-input.js';
import { CONTROL_TASK_QUEUE } from '../common/task-queues.js';
import { readExample } from '../dev/tools.js';
import type { BatchTransformResult } from '../workflows/batch-transform.js';
import { benchWithStack } from './with-stack.js';

const opts = new Command('bench-batch')
  .option('--records <n>', 'records per job', Number, 200)
  .option('--max-new-tokens <n>', 'tokens generated per record', Number, 32)
  .parse()
  .opts<{ records: number; maxNewTokens: number }>();

benchWithStack('batch', async (client) => {
  const s3 = new S3Client({ forcePathStyle: true });
  const records = Array.from({ length: opts.records }, (_, i) => ({
    inputs: `Story ${i}: Once upon a time`,
    parameters: { max_new_tokens: opts.maxNewTokens },
  }));
  await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
  await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: 'in/prompts.jsonl', Body: records.map((r) => JSON.stringify(r)).join('\n') + '\n' }));
  const base = readExample<BatchTransformInput>('batch-local.json');

  console.log(`batch bench: ${opts.records} records, max_new_tokens ${opts.maxNewTokens}, tiny model, 1 thread per model process`);
  for (const [instanceCount, maxConcurrentTransforms] of [
    [1, 1],
    [1, 2],
    [2, 1],
    [2, 2],
  ]) {
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
    console.log(
      `  job ${instanceCount} instance(s) × ${maxConcurrentTransforms} concurrent: ${(result.outputRecords / jobSeconds).toFixed(1)} records/s in the job (${jobSeconds.toFixed(1)} s), ` +
        `${(result.outputRecords / wallSeconds).toFixed(1)} records/s end to end (${wallSeconds.toFixed(1)} s; start-up and bookkeeping ${(wallSeconds - jobSeconds).toFixed(1)} s), history events ${events}`,
    );
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
  console.log(`  InvokeEndpoint one by one (1 instance): ${(records.length / seconds).toFixed(1)} records/s (${seconds.toFixed(1)} s)`);
  await client.workflow.execute('teardownEndpoint', {
    taskQueue: CONTROL_TASK_QUEUE,
    workflowId: 'teardown-bench-batch',
    args: [{ endpointName: 'bench-batch' }],
  });
});
