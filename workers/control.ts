// Worker for the `sagemaker-control` task queue: deploy, update, teardown workflows and their
// AWS activities. AWS clients come from the standard chain and AWS_ENDPOINT_URL, so the same
// worker drives real AWS or the local cloud.
import { NativeConnection, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { createActivities } from '../activities';
import { createAwsClients, type AwsClientOptions } from '../activities/aws-clients';
import { CONTROL_TASK_QUEUE } from '../common/task-queues';
import { installTemporalLogging, logger } from './logger';
import { temporalAddress, temporalNamespace } from './temporal-config';

const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface ControlWorkerOptions {
  connection?: NativeConnection;
  address?: string;
  namespace?: string;
  taskQueue?: string;
  aws?: AwsClientOptions;
}

export async function createControlWorker(opts: ControlWorkerOptions = {}): Promise<Worker> {
  installTemporalLogging();
  const connection = opts.connection ?? (await NativeConnection.connect({ address: opts.address ?? temporalAddress() }));
  return Worker.create({
    connection,
    namespace: opts.namespace ?? temporalNamespace(),
    taskQueue: opts.taskQueue ?? CONTROL_TASK_QUEUE,
    workflowsPath,
    activities: createActivities(createAwsClients(opts.aws)),
    // Control-plane calls are slow and rate-limited: a few at a time is plenty.
    maxConcurrentActivityTaskExecutions: 16,
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const worker = await createControlWorker();
  logger.info({ taskQueue: CONTROL_TASK_QUEUE, address: temporalAddress(), awsEndpoint: process.env.AWS_ENDPOINT_URL ?? 'AWS' }, 'control worker started');
  await worker.run();
}
