// What the end-to-end suites share: a Temporal dev server, the local cloud (moto and real
// model processes) and the control worker in this process, with AWS clients pointed at it.
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FaultSettings } from '../../local/faults.js';
import { startLocalCloud } from '../../local/server.js';
import { createControlWorker } from '../../workers/control.js';
import { createRagWorker } from '../../workers/rag.js';
import { devServerEnv } from './temporal.js';

export interface E2eStack {
  env: TestWorkflowEnvironment;
  sagemaker: SageMakerClient;
  runtime: SageMakerRuntimeClient;
  autoscaling: ApplicationAutoScalingClient;
  s3: S3Client;
  /** With `rag: true`: where the rag worker writes prompt-monitoring records. */
  monitoringFile: string;
  /** The local cloud's URL (e.g. for its `/_localcloud/faults` admin route). */
  cloudUrl: string;
  stop(): Promise<void>;
}

export interface E2eStackOptions {
  /** Also run the rag worker. */
  rag?: boolean;
  /** The rag worker's vector store: this Qdrant when given, else LanceDB in the state directory. */
  qdrantUrl?: string;
  /**
   * Fault injection in the local cloud (local/faults.ts). Default: the LOCAL_CLOUD_* env vars,
   * so any e2e suite can be run under faults; none when they are unset.
   */
  faults?: FaultSettings;
  /** LOCAL_CLOUD_TIME_SCALE for the local cloud (metric periods, alarms, cooldowns); default the env, else 1. */
  timeScale?: number;
}

export async function startE2eStack({ rag = false, qdrantUrl, faults, timeScale }: E2eStackOptions = {}): Promise<E2eStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'llmops-e2e-'));
  const [env, cloud] = await Promise.all([devServerEnv(), startLocalCloud({ port: 0, stateDir, faults, timeScale })]);
  const config = { region: 'us-east-1', endpoint: cloud.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const worker = await createControlWorker({ connection: env.nativeConnection, aws: config });
  const running = worker.run();
  const monitoringFile = join(stateDir, 'monitoring.jsonl');
  const vectorStore = qdrantUrl ? { backend: 'qdrant' as const, qdrantUrl } : { backend: 'lancedb' as const, lanceDir: join(stateDir, 'vectors') };
  const ragWorker = rag ? await createRagWorker({ connection: env.nativeConnection, aws: config, vectorStore, monitoringFile }) : undefined;
  const ragRunning = ragWorker?.worker.run();
  return {
    monitoringFile,
    cloudUrl: cloud.url,
    env,
    sagemaker: new SageMakerClient(config),
    runtime: new SageMakerRuntimeClient(config),
    autoscaling: new ApplicationAutoScalingClient(config),
    s3: new S3Client({ ...config, forcePathStyle: true }),
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      if (ragWorker?.worker.getState() === 'RUNNING') ragWorker.worker.shutdown();
      await Promise.all([running, ragRunning]);
      await ragWorker?.close();
      await cloud.close();
      await env.teardown();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
