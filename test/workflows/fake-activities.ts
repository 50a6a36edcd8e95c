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
}

export function createFakeCloud(behaviour: FakeBehaviour = {}) {
  const models = new Map<string, { runTag: string; image: string }>();
  const configs = new Map<string, { runTag: string; modelName: string }>();
  const endpoints = new Map<string, FakeEndpoint>();
  const targets = new Set<string>();
  const calls: string[] = [];
  let polls = 0;

  const activities: Activities = {
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
  };

  return { activities, models, configs, endpoints, targets, calls, polls: () => polls };
}
