// Worker for the `rag` task queue: ingestDocuments and ragQuery, with the embedding model,
// the vector store and the SageMaker Runtime client created once per worker process.
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { Worker, type ActivityInterceptorsFactory } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { awsClientConfig, s3ClientConfig, type AwsClientOptions } from '../activities/aws-clients.js';
import { DenseEmbedder } from '../activities/embeddings/dense.js';
import { createRagActivities } from '../activities/rag.js';
import { openVectorStore, type OpenVectorStoreOptions } from '../activities/vector-store/select.js';
import type { VectorStore } from '../activities/vector-store/types.js';
import { RAG_TASK_QUEUE } from '../common/task-queues.js';
import { activeTracing, traceAwsSdkCalls } from '../common/tracing.js';
import { temporalAddress } from '../common/temporal-connection.js';
import { logger } from './logger.js';
import { workerBase, type WorkerConnectionOptions } from './worker-base.js';

const ragWorkflows = fileURLToPath(new URL('../workflows/rag-queue.ts', import.meta.url));

export interface RagWorkerOptions extends WorkerConnectionOptions {
  aws?: AwsClientOptions;
  vectorStore?: OpenVectorStoreOptions;
  monitoringFile?: string;
  /** Run around every activity after the project's own (benches time the steps with one). */
  activityInterceptors?: ActivityInterceptorsFactory[];
}

export async function createRagWorker(opts: RagWorkerOptions = {}): Promise<{ worker: Worker; close(): Promise<void> }> {
  const embedder = new DenseEmbedder();
  let store: Promise<VectorStore> | undefined;
  const base = await workerBase(opts, RAG_TASK_QUEUE, 'llmops-rag-worker', ragWorkflows);
  const worker = await Worker.create({
    ...base,
    interceptors: { ...base.interceptors, activity: [...(base.interceptors?.activity ?? []), ...(opts.activityInterceptors ?? [])] },
    activities: createRagActivities({
      s3: traceAwsSdkCalls(new S3Client(s3ClientConfig(opts.aws))),
      runtime: traceAwsSdkCalls(new SageMakerRuntimeClient(awsClientConfig(opts.aws))),
      embedder,
      store: () => (store ??= openVectorStore(opts.vectorStore)),
      monitoringFile: opts.monitoringFile,
    }),
    // Per-request flows: many small concurrent tasks. Embedding runs on this process's cores.
    maxConcurrentActivityTaskExecutions: 8,
    maxConcurrentLocalActivityExecutions: 8,
  });
  return {
    worker,
    async close() {
      await embedder.dispose();
      if (store) await (await store).close();
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { worker, close } = await createRagWorker();
  logger.info({ taskQueue: RAG_TASK_QUEUE, address: temporalAddress() }, 'rag worker started');
  await worker.run();
  await close();
  await activeTracing()?.shutdown(); // sends the spans still buffered
}
