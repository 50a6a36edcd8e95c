// What the observability and chat-page suites run the RAG service against: a real Temporal dev
// server, the real local cloud with an InService endpoint running the tiny model (so /rag/stream
// streams real tokens), and a worker on the `rag` task queue with the MOCK ragQuery of
// test/rag/fixtures/rag-workflows.ts (fixed prompt, sources and step timings), since these suites
// are about what the service reports and shows, not about retrieval.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { startRagService, type RagService, type RagServiceOptions } from '../../clients/rag-service/server.js';
import { RAG_TASK_QUEUE } from '../../common/task-queues.js';
import { deployTinyEndpoint, startActivityCloud, type ActivityCloud } from '../activities/support.js';
import { devServerEnv } from '../support/temporal.js';

export const API_KEY = 'observe-key-0123456789abcdef';
const fixtureWorkflows = fileURLToPath(new URL('../rag/fixtures/rag-workflows.ts', import.meta.url));

export interface RagServiceStack {
  env: TestWorkflowEnvironment;
  cloud: ActivityCloud;
  /** A service whose key's default endpoint is `endpointName`; closed with the stack. */
  start(overrides?: Partial<RagServiceOptions>): Promise<RagService>;
  close(): Promise<void>;
}

export async function startRagServiceStack(endpointName: string): Promise<RagServiceStack> {
  const [env, cloud] = await Promise.all([devServerEnv(), startActivityCloud()]);
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: RAG_TASK_QUEUE, workflowsPath: fixtureWorkflows });
  const running = worker.run();
  await deployTinyEndpoint(cloud.activities, endpointName);
  const services: RagService[] = [];
  return {
    env,
    cloud,
    async start(overrides = {}) {
      const service = await startRagService({
        client: env.client,
        runtime: cloud.clients.runtime,
        sagemaker: cloud.clients.sagemaker,
        apiKeys: [{ key: API_KEY, endpoints: [endpointName], collections: ['documents'] }],
        rateLimitPerMinute: 1000,
        monitoringFile: '/dev/null',
        logger: pino({ level: 'silent' }),
        ...overrides,
      });
      services.push(service);
      return service;
    },
    async close() {
      for (const s of services) await s.close();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await cloud.close();
      await env.teardown();
    },
  };
}
