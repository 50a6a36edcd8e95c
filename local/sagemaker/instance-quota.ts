// Account quotas on ML instances, checked as AWS checks them: at CreateEndpoint/UpdateEndpoint
// ("<type> for endpoint usage") and CreateTransformJob ("<type> for transform job usage"),
// against the instances already in use, with AWS's ResourceLimitExceeded wording. Here each
// instance is a model process on the developer's machine, so the defaults are small and one
// more bound caps every process of every type together.
//   LOCAL_CLOUD_INSTANCE_QUOTA=4                 per instance type and usage (default 4)
//   LOCAL_CLOUD_INSTANCE_QUOTAS=ml.g5.xlarge=8   per type, overriding the above (comma-separated)
//   LOCAL_CLOUD_MAX_INSTANCES=8                  all types and usages together (default 8)
import { AwsServiceError } from './protocol.js';
import type { SageMakerStore } from './store.js';
import { localCloudConfig } from '../../common/config.js';

export const INSTANCE_QUOTAS_ENV = 'LOCAL_CLOUD_INSTANCE_QUOTAS';
export const DEFAULT_INSTANCE_QUOTA = 4;

export type InstanceUsage = 'endpoint' | 'transform job';

function count(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name}: '${raw}' is not a whole number of instances`);
  return value;
}

function quotaOf(type: string, env: NodeJS.ProcessEnv): number {
  for (const pair of (env[INSTANCE_QUOTAS_ENV] ?? '').split(',')) {
    const [name, value] = pair.split('=').map((s) => s.trim());
    if (name === type) return count(`${INSTANCE_QUOTAS_ENV} (${type})`, value, DEFAULT_INSTANCE_QUOTA);
  }
  return localCloudConfig.read(env).LOCAL_CLOUD_INSTANCE_QUOTA;
}

/** Instances in use per usage and type: every endpoint fleet serving or starting, every running transform job. */
function inUse(store: SageMakerStore): Map<string, number> {
  const used = new Map<string, number>();
  const add = (usage: InstanceUsage, type: string | undefined, n: number) => {
    if (type) used.set(`${usage}|${type}`, (used.get(`${usage}|${type}`) ?? 0) + n);
  };
  for (const endpoint of store.endpoints.values()) {
    for (const fleet of [endpoint.deployed, endpoint.pending]) {
      fleet?.variants.forEach((v) => add('endpoint', v.instanceType, v.instanceCount));
    }
  }
  for (const job of store.transformJobs.values()) {
    if (job.TransformJobStatus === 'InProgress' || job.TransformJobStatus === 'Stopping') {
      add('transform job', job.TransformResources.InstanceType, job.TransformResources.InstanceCount ?? 1);
    }
  }
  return used;
}

const limitExceeded = (name: string, quota: number, current: number, delta: number) =>
  new AwsServiceError(
    'ResourceLimitExceeded',
    `The account-level service limit '${name}' is ${quota} Instances, with current utilization of ${current} Instances and a request delta of ${delta} Instances. Please use AWS Service Quotas to request an increase for this quota.`,
  );

/** Throws ResourceLimitExceeded when `requested` (instances per type) does not fit beside what is in use. */
export function checkInstanceQuota(
  store: SageMakerStore,
  usage: InstanceUsage,
  requested: ReadonlyArray<{ instanceType?: string; instanceCount: number }>,
  env: NodeJS.ProcessEnv = process.env,
): void {
  const used = inUse(store);
  const delta = new Map<string, number>();
  for (const { instanceType, instanceCount } of requested) {
    if (instanceType) delta.set(instanceType, (delta.get(instanceType) ?? 0) + instanceCount);
  }
  for (const [type, n] of delta) {
    const quota = quotaOf(type, env);
    const current = used.get(`${usage}|${type}`) ?? 0;
    if (current + n > quota) throw limitExceeded(`${type} for ${usage} usage`, quota, current, n);
  }
  const total = localCloudConfig.read(env).LOCAL_CLOUD_MAX_INSTANCES;
  const current = [...used.values()].reduce((a, b) => a + b, 0);
  const n = [...delta.values()].reduce((a, b) => a + b, 0);
  if (current + n > total) throw limitExceeded('total instances of the local cloud (model processes on this machine)', total, current, n);
}
