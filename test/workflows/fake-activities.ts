// An in-memory stand-in for the activities, for workflow unit tests only: it keeps enough
// state (models, configs, endpoints, scaling targets) to check sequencing, idempotent
// re-runs, compensation and teardown without any AWS or local cloud.
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities';

interface FakeEndpoint {
  configName: string;
  status: string;
  failureReason?: string;
  runTag: string;
  /** Polls left before Creating/Updating settles. */
  pollsLeft: number;
}

export interface FakeBehaviour {
  /** How many awaitEndpointInService polls see Creating before InService (or failure). */
  pollsBeforeReady?: number;
  /** If set, the endpoint ends Failed with this reason instead of InService. */
  failWith?: string;
  /** If set, the smoke test invocation fails with this message. */
  smokeTestError?: string;
  /** How many awaitTransformJob polls see InProgress before the job ends. */
  jobPolls?: number;
  /** How the transform job ends (default Completed). */
  jobEnd?: { status: 'Completed' } | { status: 'Failed'; reason: string };
  /** Records under each S3 prefix, for countS3Records and countTransformOutputs. */
  s3Records?: Record<string, number>;
}

interface FakeJob {
  status: string;
  pollsLeft: number;
  runTag: string;
  modelName: string;
}

export function createFakeCloud(behaviour: FakeBehaviour = {}) {
  const models = new Map<string, { runTag: string; image: string }>();
  const configs = new Map<string, { runTag: string; modelName: string }>();
  const endpoints = new Map<string, FakeEndpoint>();
  const targets = new Set<string>();
  const jobs = new Map<string, FakeJob>();
  const calls: string[] = [];
  let polls = 0;

  const activities = {
    async ensureExecutionRole({ roleName }) {
      calls.push('ensureExecutionRole');
      return { roleArn: `arn:aws:iam::123456789012:role/${roleName}`, created: false };
    },
    async createModel({ modelName, image, tags }) {
      calls.push(`createModel ${modelName}`);
      const existing = models.get(modelName);
      if (!existing) models.set(modelName, { runTag: tags.runTag, image });
      return { modelArn: `arn:model/${modelName}`, created: (existing ?? models.get(modelName))!.runTag === tags.runTag };
    },
    async createEndpointConfig({ configName, modelName, tags }) {
      calls.push(`createEndpointConfig ${configName}`);
      const existing = configs.get(configName);
      if (!existing) configs.set(configName, { runTag: tags.runTag, modelName });
      return { configArn: `arn:endpoint-config/${configName}`, created: configs.get(configName)!.runTag === tags.runTag };
    },
    async createOrUpdateEndpoint({ endpointName, configName, tags }) {
      calls.push(`createOrUpdateEndpoint ${endpointName}`);
      const ep = endpoints.get(endpointName);
      const arn = `arn:endpoint/${endpointName}`;
      if (!ep) {
        endpoints.set(endpointName, { configName, status: 'Creating', runTag: tags.runTag, pollsLeft: behaviour.pollsBeforeReady ?? 0 });
        return { endpointArn: arn, action: 'created' };
      }
      if (ep.configName === configName) return { endpointArn: arn, action: ep.runTag === tags.runTag ? 'created' : 'unchanged' };
      const previousConfigName = ep.configName;
      Object.assign(ep, { configName, status: 'Updating', pollsLeft: behaviour.pollsBeforeReady ?? 0 });
      return { endpointArn: arn, action: 'updated', previousConfigName };
    },
    async awaitEndpointInService({ endpointName }) {
      polls++;
      calls.push('awaitEndpointInService');
      const ep = endpoints.get(endpointName);
      if (!ep) throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} does not exist`, 'EndpointNotFound');
      if (ep.pollsLeft > 0) {
        ep.pollsLeft--;
        throw ApplicationFailure.retryable(`Endpoint ${endpointName} is ${ep.status}`, 'EndpointNotReady');
      }
      if (behaviour.failWith) {
        ep.status = 'Failed';
        ep.failureReason = behaviour.failWith;
        throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} failed: ${behaviour.failWith}`, 'EndpointFailed');
      }
      ep.status = 'InService';
      return { status: 'InService', configName: ep.configName };
    },
    async describeEndpointStatus({ endpointName }) {
      const ep = endpoints.get(endpointName);
      return { status: ep?.status ?? 'NotFound', failureReason: ep?.failureReason };
    },
    async deleteEndpoint({ endpointName }) {
      calls.push(`deleteEndpoint ${endpointName}`);
      const ep = endpoints.get(endpointName);
      if (!ep) return { deleted: false };
      ep.status = 'Deleting';
      return { deleted: true };
    },
    async awaitEndpointDeleted({ endpointName }) {
      calls.push('awaitEndpointDeleted');
      endpoints.delete(endpointName);
    },
    async deleteEndpointConfig({ configName }) {
      calls.push(`deleteEndpointConfig ${configName}`);
      return { deleted: configs.delete(configName) };
    },
    async deleteModel({ modelName }) {
      calls.push(`deleteModel ${modelName}`);
      return { deleted: models.delete(modelName) };
    },
    async findEndpointResources({ endpointName }) {
      calls.push('findEndpointResources');
      const ep = endpoints.get(endpointName);
      const mine = (name: string) => name.startsWith(`${endpointName}-`);
      return {
        endpoint: ep && { arn: `arn:endpoint/${endpointName}`, status: ep.status, configName: ep.configName, variantNames: ['AllTraffic'] },
        configNames: [...configs.keys()].filter(mine),
        modelNames: [...models.keys()].filter(mine),
      };
    },
    async registerAutoscaling({ endpointName, variantName }) {
      calls.push('registerAutoscaling');
      const resourceId = `endpoint/${endpointName}/variant/${variantName}`;
      targets.add(resourceId);
      return { resourceId, policyArn: `arn:policy/${resourceId}` };
    },
    async findScalableTargets({ endpointName }) {
      return [...targets].filter((t) => t.startsWith(`endpoint/${endpointName}/`));
    },
    async deregisterAutoscaling({ resourceId }) {
      calls.push(`deregisterAutoscaling ${resourceId}`);
      return { deregistered: targets.delete(resourceId) };
    },
    async invokeEndpoint({ inputs }) {
      calls.push('invokeEndpoint');
      if (behaviour.smokeTestError) throw ApplicationFailure.nonRetryable(behaviour.smokeTestError, 'ModelError');
      return { generatedText: `${inputs} ... and they lived happily.`, latencyMs: 5, invokedVariant: 'AllTraffic' };
    },
    async countS3Records({ s3Uri }) {
      calls.push(`countS3Records ${s3Uri}`);
      const records = behaviour.s3Records?.[s3Uri] ?? 0;
      return { objects: records ? 1 : 0, records, bytes: records * 100 };
    },
    async countTransformOutputs({ outputS3Uri }) {
      calls.push(`countTransformOutputs ${outputS3Uri}`);
      const records = behaviour.s3Records?.[outputS3Uri] ?? 0;
      return { objects: records ? 1 : 0, records, bytes: records * 100, missingObjects: 0 };
    },
    async createTransformJob({ jobName, modelName, runTag }) {
      calls.push(`createTransformJob ${jobName}`);
      const existing = jobs.get(jobName);
      if (existing && existing.runTag !== runTag) throw ApplicationFailure.nonRetryable(`Transform job ${jobName} already exists`, 'ResourceConflict');
      if (!existing) jobs.set(jobName, { status: 'InProgress', pollsLeft: behaviour.jobPolls ?? 0, runTag, modelName });
      return { jobArn: `arn:transform-job/${jobName}`, created: !existing };
    },
    async awaitTransformJob({ jobName }) {
      polls++;
      const job = jobs.get(jobName)!;
      if (job.status === 'InProgress' && job.pollsLeft-- > 0) throw ApplicationFailure.create({ message: `Transform job ${jobName} is InProgress`, type: 'TransformJobNotDone', category: 'BENIGN' });
      if (job.status === 'InProgress') job.status = behaviour.jobEnd?.status ?? 'Completed';
      if (job.status === 'Failed') throw ApplicationFailure.nonRetryable(`Transform job ${jobName} failed: ${(behaviour.jobEnd as { reason: string }).reason}`, 'TransformJobFailed');
      if (job.status === 'Stopped') throw ApplicationFailure.nonRetryable(`Transform job ${jobName} was stopped`, 'TransformJobStopped');
      return { status: job.status, startTime: '2026-01-01T00:00:00.000Z', endTime: '2026-01-01T00:10:00.000Z' };
    },
    async stopTransformJob({ jobName }) {
      calls.push(`stopTransformJob ${jobName}`);
      const job = jobs.get(jobName);
      if (!job || job.status !== 'InProgress') return { stopRequested: false };
      job.status = 'Stopping';
      return { stopRequested: true };
    },
    async awaitTransformJobStopped({ jobName }) {
      calls.push('awaitTransformJobStopped');
      const job = jobs.get(jobName);
      if (job?.status === 'Stopping') job.status = 'Stopped';
      return job && { status: job.status };
    },
  } satisfies Partial<Activities>;

  return { activities, jobs, models, configs, endpoints, targets, calls, polls: () => polls };
}
