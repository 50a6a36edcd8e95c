// Worker for the `sagemaker-control` task queue: deploy, update, teardown workflows and their
// AWS activities. AWS clients come from the standard chain and AWS_ENDPOINT_URL, so the same
// worker drives real AWS or the local cloud. LLMOPS_WORKFLOW_BUNDLE names a workflow bundle
// built ahead of time (bundleWorkflowCode's code, written to a file): a worker restarted after a
// crash then polls within seconds instead of spending half a minute bundling on a small machine.
import { Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { createActivities } from '../activities/index.js';
import { createAwsClients, type AwsClientOptions } from '../activities/aws-clients.js';
import { awsConfig, workerConfig } from '../common/config.js';
import { CONTROL_TASK_QUEUE } from '../common/task-queues.js';
import { temporalAddress } from '../common/temporal-connection.js';
import { activeTracing } from '../common/tracing.js';
import { logger } from './logger.js';
import { workerBase, type WorkerConnectionOptions } from './worker-base.js';

export interface ControlWorkerOptions extends WorkerConnectionOptions {
  aws?: AwsClientOptions;
}

export async function createControlWorker(opts: ControlWorkerOptions = {}): Promise<Worker> {
  const { workflowsPath, ...base } = await workerBase(opts, CONTROL_TASK_QUEUE, 'llmops-control-worker');
  const prebuilt = workerConfig.read().LLMOPS_WORKFLOW_BUNDLE;
  const clients = createAwsClients(opts.aws);
  await clients.sagemaker.config.region(); // no region is an error at start, not at the first deploy
  return Worker.create({
    ...base,
    ...(prebuilt ? { workflowBundle: { codePath: prebuilt } } : { workflowsPath }),
    activities: createActivities(clients),
    // Control-plane calls are slow and rate-limited: a few at a time is plenty.
    maxConcurrentActivityTaskExecutions: 16,
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const worker = await createControlWorker();
  logger.info({ taskQueue: CONTROL_TASK_QUEUE, address: temporalAddress(), awsEndpoint: awsConfig.read().AWS_ENDPOINT_URL ?? 'AWS' }, 'control worker started');
  await worker.run();
  await activeTracing()?.shutdown(); // sends the spans still buffered
}
