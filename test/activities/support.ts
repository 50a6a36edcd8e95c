// Shared by the activity suites: one real local cloud per file (our SageMaker emulator with real
// model processes, moto behind it), the activities built from clients pointed at it, the
// retry-as-poll loop the workflows get from Temporal's retry policy, and a teardown safety net.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListEndpointsCommand } from '@aws-sdk/client-sagemaker';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities, type Activities } from '../../activities/index.js';
import { createAwsClients, type AwsClients } from '../../activities/aws-clients.js';
import type { ResourceTags } from '../../activities/resource-tags.js';
import type { ContainerPoolApi } from '../../local/instances/types.js';
import { startLocalCloud, type LocalCloud } from '../../local/server.js';
import { pidsOf, type RecordingPool } from '../local-cloud/support.js';

/** An image URI of the TGI family, which the local cloud runs with node-llama-cpp. */
export const TGI_IMAGE = '763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4.0-tgi2.4.0-gpu-py311-cu124-ubuntu22.04';
/** The tiny TinyStories GGUF in ../shared/models (see PROVENANCE.md there). */
export const TINY_MODEL_ID = 'ggml-org/tiny-llamas';
/** What the deploy workflow puts in a TGI model's environment, for the tiny model. */
export const TINY_MODEL_ENV = { HF_MODEL_ID: TINY_MODEL_ID, MAX_INPUT_LENGTH: '256', MAX_TOTAL_TOKENS: '512' };
export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
export const TEST_ROLE_NAME = 'LlmOpsActivityTestRole';

export interface ActivityCloud {
  cloud: LocalCloud;
  clients: AwsClients;
  activities: Activities;
  /** Builds activities over the same clients with a different worker environment. */
  activitiesWithEnv(env: NodeJS.ProcessEnv): Activities;
  /** Tears down every endpoint still there (safety net), stops the cloud, removes its state. */
  close(): Promise<void>;
}

export async function startActivityCloud(opts: { pool?: (stateDir: string) => ContainerPoolApi } = {}): Promise<ActivityCloud> {
  const stateDir = mkdtempSync(join(tmpdir(), 'llmops-activities-'));
  let cloud: LocalCloud;
  try {
    cloud = await startLocalCloud({ port: 0, stateDir, pool: opts.pool?.(stateDir) });
  } catch (err) {
    rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
  const clients = createAwsClients({ endpoint: cloud.url, region: 'us-east-1', credentials: TEST_CREDENTIALS });
  // An empty worker environment: nothing from the test runner's env leaks into the activities.
  const activities = createActivities(clients, {});
  return {
    cloud,
    clients,
    activities,
    activitiesWithEnv: (env) => createActivities(clients, env),
    async close() {
      try {
        const { Endpoints } = await clients.sagemaker.send(new ListEndpointsCommand({}));
        for (const e of Endpoints ?? []) await teardownEndpoint(activities, e.EndpointName!);
      } finally {
        await cloud.close();
        for (const c of Object.values(clients)) c.destroy();
        rmSync(stateDir, { recursive: true, force: true });
      }
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Retry-as-poll, as the workflows run the wait activities: call until the activity stops throwing
 * the retryable "not yet" failure of `notYetType`. Any other failure (or a non-retryable one of that
 * type) is rethrown at once. Returns the result and the "not yet" messages seen on the way.
 */
export async function pollUntilDone<T>(
  call: () => Promise<T>,
  notYetType: string,
  { maxAttempts = 600, intervalMs = 100 }: { maxAttempts?: number; intervalMs?: number } = {},
): Promise<{ result: T; notYet: ApplicationFailure[] }> {
  const notYet: ApplicationFailure[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      return { result: await call(), notYet };
    } catch (err) {
      if (!(err instanceof ApplicationFailure) || err.type !== notYetType || err.nonRetryable) throw err;
      notYet.push(err);
      if (attempt >= maxAttempts) throw new Error(`Still ${notYetType} after ${maxAttempts} attempts: ${err.message}`);
      await sleep(intervalMs);
    }
  }
}

/** The ApplicationFailure a call rejects with; fails the test if it resolves or throws anything else. */
export async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  let result: unknown;
  try {
    result = await promise;
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw new Error(`Expected an ApplicationFailure, got ${String(err)}`, { cause: err });
  }
  throw new Error(`Expected an ApplicationFailure, but the call returned ${JSON.stringify(result)}`);
}

export const tagsFor = (endpointName: string, run = 'run-1'): ResourceTags => ({ endpointName, runTag: `deploy-${endpointName}/${run}` });

export interface TinyDeployment {
  roleArn: string;
  modelName: string;
  configName: string;
  tags: ResourceTags;
}

/** The deploy workflow's happy path, one activity after another, ending InService. */
export async function deployTinyEndpoint(a: Activities, endpointName: string, instanceCount = 1): Promise<TinyDeployment> {
  const { roleArn } = await a.ensureExecutionRole({ roleName: TEST_ROLE_NAME });
  const tags = tagsFor(endpointName);
  const modelName = `${endpointName}-m-1`;
  const configName = `${endpointName}-c-1`;
  await a.createModel({ modelName, image: TGI_IMAGE, environment: TINY_MODEL_ENV, roleArn, tags });
  await a.createEndpointConfig({
    configName,
    modelName,
    variantName: 'AllTraffic',
    instanceType: 'ml.m5.large',
    initialInstanceCount: instanceCount,
    containerStartupHealthCheckTimeoutSeconds: 600,
    tags,
  });
  await a.createOrUpdateEndpoint({ endpointName, configName, tags });
  await pollUntilDone(() => a.awaitEndpointInService({ endpointName, expectedConfigName: configName }), 'EndpointNotReady');
  return { roleArn, modelName, configName, tags };
}

/** The teardown workflow's order: scaling targets, endpoint (waited for), configs, models. */
export async function teardownEndpoint(a: Activities, endpointName: string): Promise<void> {
  for (const resourceId of await a.findScalableTargets({ endpointName })) await a.deregisterAutoscaling({ resourceId });
  const found = await a.findEndpointResources({ endpointName });
  if (found.endpoint) {
    await a.deleteEndpoint({ endpointName });
    await pollUntilDone(() => a.awaitEndpointDeleted({ endpointName }), 'EndpointNotDeleted');
  }
  for (const configName of found.configNames) await a.deleteEndpointConfig({ configName });
  for (const modelName of found.modelNames) await a.deleteModel({ modelName });
}

/** Every model process the pool has started. */
export const startedPids = (pool: RecordingPool) => pool.fleets.flatMap(({ fleet }) => pidsOf(fleet));
