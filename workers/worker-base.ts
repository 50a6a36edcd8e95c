// What every worker of this project shares: Temporal logging through pino, the connection
// (profile and TEMPORAL_* variables, see common/temporal-connection.ts, unless given), the data
// converter (payload encryption when keys are configured), the one workflow bundle, and the
// interceptor that scrubs resolved secrets out of every activity failure. Each worker adds its
// task queue's activities and concurrency limits.
import { NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { scrubActivityFailures } from '../activities/secret-registry.js';
import { connectOptions, temporalConnectionConfig, workerDataConverter } from '../common/temporal-connection.js';
import { installTemporalLogging } from './logger.js';

const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerConnectionOptions {
  /** An open connection (tests pass their test environment's); else one to `address`. */
  connection?: NativeConnection;
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

export async function workerBase(
  opts: WorkerConnectionOptions,
  defaultTaskQueue: string,
): Promise<Pick<WorkerOptions, 'connection' | 'namespace' | 'taskQueue' | 'workflowsPath' | 'dataConverter' | 'interceptors'>> {
  installTemporalLogging();
  const config = temporalConnectionConfig({ address: opts.address, namespace: opts.namespace });
  return {
    connection: opts.connection ?? (await NativeConnection.connect(connectOptions(config))),
    namespace: config.namespace,
    taskQueue: opts.taskQueue ?? defaultTaskQueue,
    workflowsPath,
    dataConverter: workerDataConverter(),
    // No failure leaves an activity carrying a secret this worker resolved.
    interceptors: { activity: [scrubActivityFailures] },
  };
}
