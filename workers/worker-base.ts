// What every worker of this project shares: Temporal logging through pino, the connection
// (profile and TEMPORAL_* variables, see common/temporal-connection.ts, unless given), the data
// converter (payload encryption when keys are configured), the workflow bundle (every workflow,
// unless the worker names a smaller one: the rag worker does, workflows/rag-queue.ts), and the
// interceptor that scrubs resolved secrets out of every activity failure, and tracing when
// OTLP is configured. Each worker adds its
// task queue's activities and concurrency limits.
import { NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { scrubActivityFailures } from '../activities/secret-registry.js';
import { connectOptions, temporalConnectionConfig, workerDataConverter } from '../common/temporal-connection.js';
import { installTemporalLogging } from './logger.js';
import { workerTracingOptions } from './telemetry.js';

const allWorkflows = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

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
  serviceName: string,
  workflowsPath = allWorkflows,
): Promise<Pick<WorkerOptions, 'connection' | 'namespace' | 'taskQueue' | 'workflowsPath' | 'dataConverter' | 'interceptors' | 'sinks'>> {
  installTemporalLogging();
  const tracing = workerTracingOptions(serviceName);
  const config = temporalConnectionConfig({ address: opts.address, namespace: opts.namespace });
  return {
    connection: opts.connection ?? (await NativeConnection.connect(connectOptions(config))),
    namespace: config.namespace,
    taskQueue: opts.taskQueue ?? defaultTaskQueue,
    workflowsPath,
    dataConverter: workerDataConverter(),
    interceptors: {
      ...tracing.interceptors,
      // No failure leaves an activity carrying a secret this worker resolved. Listed first, so it
      // is the outermost interceptor and sees what every other one lets out.
      activity: [scrubActivityFailures, ...(tracing.interceptors?.activity ?? [])],
    },
    sinks: tracing.sinks,
  };
}
