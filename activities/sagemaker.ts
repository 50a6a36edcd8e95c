// SageMaker control-plane activities. Each is idempotent: names are deterministic, "already
// exists" means describe and compare, "not found" on delete means done. Whether a resource was
// created by *this* workflow run is read from its tags, so a retried activity whose first
// attempt succeeded still reports `created: true`, and an undo given `ownedBy` removes only
// what that run created and no endpoint still uses. AWS refuses to delete or update an
// endpoint that is Creating or Updating: those calls answer "not yet" (retry-as-poll) then.
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  paginateListEndpointConfigs,
  paginateListModels,
  UpdateEndpointCommand,
  type DeploymentConfig,
  type DescribeEndpointOutput,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ApplicationFailure } from '@temporalio/common';
import type { SecretRef } from '../common/endpoint-input.js';
import { TAG_CREATED_BY, TAG_ENDPOINT } from '../common/resource-names.js';
import { awsPages, callAws, callAwsOrUndefined, classifyAwsError, isAlreadyExists, isAwsError, isNotFound, notYet } from './aws-errors.js';
import { readTags, toTags, type ResourceTags } from './resource-tags.js';
import { createSecretResolver } from './secrets.js';

export interface CreateModelInput {
  modelName: string;
  image: string;
  environment: Record<string, string>;
  roleArn: string;
  /** Where the worker finds the Hugging Face token (Secrets Manager or an allowed env var). */
  hfTokenSecret?: SecretRef;
  /** Older workflows' form of `hfTokenSecret: { envVar }`, still accepted from histories in flight. */
  hfTokenEnvVar?: string;
  tags: ResourceTags;
}

export interface CreateEndpointConfigInput {
  configName: string;
  /** Absent for an inference-component endpoint: its models are on the components. */
  modelName?: string;
  variantName: string;
  instanceType: string;
  initialInstanceCount: number;
  /** Model-based variants only: on an IC endpoint each component has its own startup timeouts. */
  containerStartupHealthCheckTimeoutSeconds?: number;
  asyncInference?: { outputS3Uri: string; failureS3Uri?: string; maxConcurrentInvocationsPerInstance?: number };
  /** An endpoint that hosts inference components: routing, managed scaling, and the role AWS wants here. */
  inferenceComponents?: {
    executionRoleArn: string;
    routingStrategy: 'LEAST_OUTSTANDING_REQUESTS' | 'RANDOM';
    managedInstanceScaling?: { minInstanceCount: number; maxInstanceCount: number };
  };
  tags: ResourceTags;
}

export interface EndpointChange {
  endpointArn: string;
  action: 'created' | 'updated' | 'unchanged';
  /** For 'updated': the config to go back to if a later step fails. */
  previousConfigName?: string;
}

export interface WaitInput {
  endpointName: string;
  /** With InService: the config the endpoint must be on (an update that rolled back fails). */
  expectedConfigName?: string;
}

export interface EndpointResources {
  /** `createdBy`: the endpoint's created-by-run tag; absent when this project did not make it. */
  endpoint?: { arn: string; status: string; configName: string; variantNames: string[]; createdBy?: string };
  configNames: string[];
  modelNames: string[];
}

/** States AWS leaves on its own; an endpoint in one can be neither updated nor deleted. */
const TRANSITIONAL = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack']);

export interface EndpointState {
  /** 'NotFound' when there is no such endpoint. */
  status: string;
  endpointArn?: string;
  failureReason?: string;
  configName?: string;
  /** The config an update in progress is rolling out. */
  pendingConfigName?: string;
  /** The `llmops:created-by-run` tag: which run created the endpoint (absent: not this project). */
  createdBy?: string;
}

/** An undo's guard: delete only what `ownedBy` created and `endpointName` does not use. */
export interface OwnedDelete {
  ownedBy?: string;
  endpointName?: string;
}

export interface DeleteOutcome {
  deleted: boolean;
  /** Why an existing resource was left in place. */
  kept?: string;
}

// AWS's answer to DeleteEndpoint/UpdateEndpoint on an endpoint that is Creating or Updating.
const IN_PROGRESS = /Cannot (?:delete|update) (?:in-progress|\w+) endpoint/i;

export function createSageMakerActivities({
  sagemaker,
  secretsManager,
  env = process.env,
}: {
  sagemaker: SageMakerClient;
  secretsManager?: SecretsManagerClient;
  env?: NodeJS.ProcessEnv;
}) {
  const resolveSecret = createSecretResolver({ secretsManager, env });
  const tagsOf = (arn: string) => readTags(sagemaker, arn);

  const describeEndpoint = (endpointName: string): Promise<DescribeEndpointOutput | undefined> =>
    callAwsOrUndefined(`DescribeEndpoint ${endpointName}`, () => sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName })));

  /** Compares what exists with what we asked for; a mismatch is a naming collision, not ours. */
  function requireSame(kind: string, name: string, diffs: Array<[string, unknown, unknown]>) {
    const differing = diffs.filter(([, want, have]) => JSON.stringify(want) !== JSON.stringify(have)).map(([field]) => field);
    if (differing.length) {
      throw ApplicationFailure.nonRetryable(
        `${kind} ${name} already exists with a different ${differing.join(', ')}; delete it or choose another endpointName`,
        'ResourceConflict',
      );
    }
  }

  /** The container environment with the token resolved in, before any AWS call is made. */
  async function resolveEnvironment({ environment, hfTokenSecret, hfTokenEnvVar }: CreateModelInput): Promise<Record<string, string>> {
    const ref = hfTokenSecret ?? (hfTokenEnvVar ? { envVar: hfTokenEnvVar } : undefined);
    if (!ref) return environment;
    return { ...environment, HF_TOKEN: await resolveSecret(ref, 'model.hfTokenSecret') };
  }

  /** The configs an endpoint is on or moving to, and the models they serve. */
  async function endpointUses(endpointName: string): Promise<{ configs: Set<string>; models: Set<string> }> {
    const ep = await describeEndpoint(endpointName);
    const configs = new Set([ep?.EndpointConfigName, ep?.PendingDeploymentSummary?.EndpointConfigName].filter((c): c is string => !!c));
    const models = new Set<string>();
    for (const configName of configs) {
      const config = await callAwsOrUndefined(`DescribeEndpointConfig ${configName}`, () =>
        sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: configName })),
      );
      for (const v of config?.ProductionVariants ?? []) if (v.ModelName) models.add(v.ModelName);
    }
    return { configs, models };
  }

  /** Why an undo must leave this resource alone, if it must: another run made it, or it is in use. */
  async function keptBecause(
    arn: string,
    ownedBy: string,
    endpointName: string | undefined,
    inUse: (uses: Awaited<ReturnType<typeof endpointUses>>) => boolean,
  ) {
    const owner = (await tagsOf(arn))[TAG_CREATED_BY];
    if (owner !== ownedBy) return `created by ${owner ?? 'someone outside this project'}`;
    if (endpointName && inUse(await endpointUses(endpointName))) return `in use by endpoint ${endpointName}`;
    return undefined;
  }

  // Activities are registered as plain functions (no `this`), so siblings call through `self`.
  const self = {
    async createModel(input: CreateModelInput): Promise<{ modelArn: string; created: boolean }> {
      const environment = await resolveEnvironment(input);
      try {
        const out = await sagemaker.send(
          new CreateModelCommand({
            ModelName: input.modelName,
            ExecutionRoleArn: input.roleArn,
            PrimaryContainer: { Image: input.image, Environment: environment },
            Tags: toTags(input.tags),
          }),
        );
        return { modelArn: out.ModelArn!, created: true };
      } catch (err) {
        if (!isAlreadyExists(err)) return classifyAwsError(err, `CreateModel ${input.modelName}`);
      }
      const existing = await callAws(`DescribeModel ${input.modelName}`, () => sagemaker.send(new DescribeModelCommand({ ModelName: input.modelName })));
      const { HF_TOKEN: _ignored, ...existingEnv } = existing.PrimaryContainer?.Environment ?? {};
      requireSame('Model', input.modelName, [
        ['image', input.image, existing.PrimaryContainer?.Image],
        ['environment', sortKeys(input.environment), sortKeys(existingEnv)],
      ]);
      const tags = await tagsOf(existing.ModelArn!);
      return { modelArn: existing.ModelArn!, created: tags[TAG_CREATED_BY] === input.tags.runTag };
    },

    async createEndpointConfig(input: CreateEndpointConfigInput): Promise<{ configArn: string; created: boolean }> {
      const ic = input.inferenceComponents;
      const variant = {
        VariantName: input.variantName,
        ModelName: input.modelName,
        InstanceType: input.instanceType as never,
        InitialInstanceCount: input.initialInstanceCount,
        InitialVariantWeight: 1,
        ContainerStartupHealthCheckTimeoutInSeconds: input.containerStartupHealthCheckTimeoutSeconds,
        RoutingConfig: ic && { RoutingStrategy: ic.routingStrategy },
        ManagedInstanceScaling: ic?.managedInstanceScaling && {
          Status: 'ENABLED' as const,
          MinInstanceCount: ic.managedInstanceScaling.minInstanceCount,
          MaxInstanceCount: ic.managedInstanceScaling.maxInstanceCount,
        },
      };
      try {
        const out = await sagemaker.send(
          new CreateEndpointConfigCommand({
            EndpointConfigName: input.configName,
            ProductionVariants: [variant],
            ExecutionRoleArn: ic?.executionRoleArn,
            AsyncInferenceConfig: input.asyncInference && {
              OutputConfig: { S3OutputPath: input.asyncInference.outputS3Uri, S3FailurePath: input.asyncInference.failureS3Uri },
              ClientConfig: input.asyncInference.maxConcurrentInvocationsPerInstance
                ? { MaxConcurrentInvocationsPerInstance: input.asyncInference.maxConcurrentInvocationsPerInstance }
                : undefined,
            },
            Tags: toTags(input.tags),
          }),
        );
        return { configArn: out.EndpointConfigArn!, created: true };
      } catch (err) {
        if (!isAlreadyExists(err)) return classifyAwsError(err, `CreateEndpointConfig ${input.configName}`);
      }
      const existing = await callAws(`DescribeEndpointConfig ${input.configName}`, () =>
        sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: input.configName })),
      );
      const have = existing.ProductionVariants?.[0];
      requireSame('Endpoint config', input.configName, [
        ['model', variant.ModelName, have?.ModelName],
        ['instance type', variant.InstanceType, have?.InstanceType],
        ['instance count', variant.InitialInstanceCount, have?.InitialInstanceCount],
        ['routing strategy', variant.RoutingConfig?.RoutingStrategy, have?.RoutingConfig?.RoutingStrategy],
        ['execution role', ic?.executionRoleArn, existing.ExecutionRoleArn],
        ['async output path', input.asyncInference?.outputS3Uri, existing.AsyncInferenceConfig?.OutputConfig?.S3OutputPath],
      ]);
      const tags = await tagsOf(existing.EndpointConfigArn!);
      return { configArn: existing.EndpointConfigArn!, created: tags[TAG_CREATED_BY] === input.tags.runTag };
    },

    /**
     * Creates the endpoint, or moves an existing one to `configName` (blue/green update). Only
     * deploys started before the 'deploy-saga-v2' patch call it (they replay with it); newer
     * ones describe first, register their undo, then call createEndpoint or updateEndpoint.
     */
    async createOrUpdateEndpoint(input: { endpointName: string; configName: string; tags: ResourceTags }): Promise<EndpointChange> {
      const existing = await describeEndpoint(input.endpointName);
      if (!existing) {
        try {
          const out = await sagemaker.send(
            new CreateEndpointCommand({ EndpointName: input.endpointName, EndpointConfigName: input.configName, Tags: toTags(input.tags) }),
          );
          return { endpointArn: out.EndpointArn!, action: 'created' };
        } catch (err) {
          if (!isAlreadyExists(err)) return classifyAwsError(err, `CreateEndpoint ${input.endpointName}`);
          // Lost a race with another creator: fall through and treat it as existing.
          return self.createOrUpdateEndpoint(input);
        }
      }
      const arn = existing.EndpointArn!;
      const status = existing.EndpointStatus;
      if (status === 'Failed') {
        throw ApplicationFailure.nonRetryable(
          `Endpoint ${input.endpointName} exists in status Failed (${existing.FailureReason ?? 'no reason given'}); tear it down before deploying again`,
          'EndpointFailed',
        );
      }
      // During an update EndpointConfigName still names the old config; the one being rolled
      // out is in PendingDeploymentSummary. If it is ours, an earlier attempt of this activity
      // started the update and lost the answer: report it as our update, rollback included.
      if (status !== 'InService' && status !== 'Creating') {
        if (existing.PendingDeploymentSummary?.EndpointConfigName === input.configName) {
          return { endpointArn: arn, action: 'updated', previousConfigName: existing.EndpointConfigName };
        }
        // Someone else's update/delete is under way; retry (as a poll) until it settles.
        throw notYet(`Endpoint ${input.endpointName} is ${status}; waiting before updating it`, 'EndpointBusy');
      }
      if (existing.EndpointConfigName === input.configName) {
        const tags = await tagsOf(arn);
        return { endpointArn: arn, action: tags[TAG_CREATED_BY] === input.tags.runTag ? 'created' : 'unchanged' };
      }
      if (status === 'Creating') throw notYet(`Endpoint ${input.endpointName} is Creating with another config; waiting before updating it`, 'EndpointBusy');
      await callAws(`UpdateEndpoint ${input.endpointName}`, () =>
        sagemaker.send(new UpdateEndpointCommand({ EndpointName: input.endpointName, EndpointConfigName: input.configName })),
      );
      return { endpointArn: arn, action: 'updated', previousConfigName: existing.EndpointConfigName };
    },

    /**
     * One poll of a wait-for-InService. Called with a retry policy whose interval is the poll
     * interval and whose schedule-to-close timeout is the deadline: "not yet" is a retryable
     * failure, so however long the wait, the workflow history records one activity.
     */
    async awaitEndpointInService({ endpointName, expectedConfigName }: WaitInput): Promise<{ status: string; configName: string }> {
      const ep = await describeEndpoint(endpointName);
      if (!ep) throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} does not exist (deleted while waiting?)`, 'EndpointNotFound');
      const status = ep.EndpointStatus ?? 'Unknown';
      if (status === 'Failed') {
        throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} failed: ${ep.FailureReason ?? 'no FailureReason given'}`, 'EndpointFailed', {
          failureReason: ep.FailureReason,
        });
      }
      if (status === 'InService') {
        if (expectedConfigName && ep.EndpointConfigName !== expectedConfigName) {
          throw ApplicationFailure.nonRetryable(
            `Update of endpoint ${endpointName} to ${expectedConfigName} failed and was rolled back to ${ep.EndpointConfigName}: ${ep.FailureReason ?? 'no FailureReason given'}`,
            'EndpointUpdateFailed',
            { failureReason: ep.FailureReason },
          );
        }
        return { status, configName: ep.EndpointConfigName! };
      }
      if (status === 'UpdateRollbackFailed') {
        // AWS could not roll a failed update back; nothing changes until someone steps in.
        throw ApplicationFailure.nonRetryable(
          `Endpoint ${endpointName} is UpdateRollbackFailed: ${ep.FailureReason ?? 'no FailureReason given'}`,
          'EndpointUpdateRollbackFailed',
          {
            failureReason: ep.FailureReason,
          },
        );
      }
      if (TRANSITIONAL.has(status)) throw notYet(`Endpoint ${endpointName} is ${status}`, 'EndpointNotReady');
      throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} is ${status}, which will not become InService`, 'EndpointUnexpectedStatus');
    },

    async describeEndpointStatus({ endpointName }: { endpointName: string }): Promise<EndpointState> {
      const ep = await describeEndpoint(endpointName);
      if (!ep) return { status: 'NotFound' };
      return {
        status: ep.EndpointStatus ?? 'Unknown',
        endpointArn: ep.EndpointArn,
        failureReason: ep.FailureReason,
        configName: ep.EndpointConfigName,
        pendingConfigName: ep.PendingDeploymentSummary?.EndpointConfigName,
        createdBy: (await tagsOf(ep.EndpointArn!))[TAG_CREATED_BY],
      };
    },

    /**
     * CreateEndpoint, for a deploy that saw no endpoint. "Already exists" is fine when the
     * endpoint carries this run's tag (an earlier attempt created it); anyone else's is a conflict.
     */
    async createEndpoint(input: { endpointName: string; configName: string; tags: ResourceTags }): Promise<{ endpointArn: string }> {
      try {
        const out = await sagemaker.send(
          new CreateEndpointCommand({ EndpointName: input.endpointName, EndpointConfigName: input.configName, Tags: toTags(input.tags) }),
        );
        return { endpointArn: out.EndpointArn! };
      } catch (err) {
        if (!isAlreadyExists(err)) return classifyAwsError(err, `CreateEndpoint ${input.endpointName}`);
      }
      const existing = await describeEndpoint(input.endpointName);
      if (!existing) throw notYet(`Endpoint ${input.endpointName} was reported to exist but cannot be described yet`, 'EndpointNotReady');
      const owner = (await tagsOf(existing.EndpointArn!))[TAG_CREATED_BY];
      if (owner !== input.tags.runTag) {
        throw ApplicationFailure.nonRetryable(
          `Endpoint ${input.endpointName} was created meanwhile by ${owner ?? 'someone outside this project'}; not taking it over`,
          'ResourceConflict',
        );
      }
      return { endpointArn: existing.EndpointArn! };
    },

    /**
     * Moves an existing endpoint to `configName` (blue/green update, or a rollback). Done when
     * the endpoint is on that config or rolling it out (a retried attempt whose first one got
     * through); "not yet" while another change is under way. With `ifExists`, a missing
     * endpoint is left missing: a rollback never creates one. `deploymentConfig` is the rollout
     * policy (canary, linear, rolling, alarms); without it AWS shifts all traffic at once.
     */
    async updateEndpoint(input: {
      endpointName: string;
      configName: string;
      ifExists?: boolean;
      deploymentConfig?: DeploymentConfig;
    }): Promise<{ updated: boolean }> {
      const ep = await describeEndpoint(input.endpointName);
      if (!ep) {
        if (input.ifExists) return { updated: false };
        throw ApplicationFailure.nonRetryable(`Endpoint ${input.endpointName} does not exist (deleted meanwhile?)`, 'EndpointNotFound');
      }
      const status = ep.EndpointStatus ?? 'Unknown';
      if (ep.PendingDeploymentSummary?.EndpointConfigName === input.configName) return { updated: true };
      if (ep.EndpointConfigName === input.configName && !TRANSITIONAL.has(status)) return { updated: true };
      if (status === 'Failed' || status === 'UpdateRollbackFailed') {
        throw ApplicationFailure.nonRetryable(
          `Endpoint ${input.endpointName} is ${status} (${ep.FailureReason ?? 'no FailureReason given'}); it cannot be updated`,
          status === 'Failed' ? 'EndpointFailed' : 'EndpointUpdateRollbackFailed',
          { failureReason: ep.FailureReason },
        );
      }
      if (status !== 'InService') throw notYet(`Endpoint ${input.endpointName} is ${status}; waiting before updating it`, 'EndpointBusy');
      try {
        await sagemaker.send(
          new UpdateEndpointCommand({ EndpointName: input.endpointName, EndpointConfigName: input.configName, DeploymentConfig: input.deploymentConfig }),
        );
      } catch (err) {
        if (isAwsError(err) && IN_PROGRESS.test(err.message ?? '')) throw notYet(`Endpoint ${input.endpointName} is busy: ${err.message}`, 'EndpointBusy');
        return classifyAwsError(err, `UpdateEndpoint ${input.endpointName}`);
      }
      return { updated: true };
    },

    /**
     * Starts deleting the endpoint. "Not yet" while it is Creating/Updating (AWS refuses then),
     * so callers run it as a poll. With `ownedBy`, an endpoint another run created is kept.
     */
    async deleteEndpoint({ endpointName, ownedBy }: { endpointName: string; ownedBy?: string }): Promise<DeleteOutcome> {
      const ep = await describeEndpoint(endpointName);
      if (!ep) return { deleted: false };
      if (ownedBy !== undefined) {
        const owner = (await tagsOf(ep.EndpointArn!))[TAG_CREATED_BY];
        if (owner !== ownedBy) return { deleted: false, kept: `created by ${owner ?? 'someone outside this project'}` };
      }
      if (ep.EndpointStatus === 'Deleting') return { deleted: true };
      if (TRANSITIONAL.has(ep.EndpointStatus ?? ''))
        throw notYet(`Endpoint ${endpointName} is ${ep.EndpointStatus}; AWS cannot delete it until that ends`, 'EndpointNotDeletable');
      try {
        await sagemaker.send(new DeleteEndpointCommand({ EndpointName: endpointName }));
        return { deleted: true };
      } catch (err) {
        if (isNotFound(err)) return { deleted: false };
        // Deleting an endpoint that is already Deleting is fine; one that became busy is "not yet".
        if (/Deleting/.test((err as Error).message ?? '')) return { deleted: true };
        if (isAwsError(err) && IN_PROGRESS.test(err.message ?? '')) throw notYet(`Endpoint ${endpointName} is busy: ${err.message}`, 'EndpointNotDeletable');
        return classifyAwsError(err, `DeleteEndpoint ${endpointName}`);
      }
    },

    /** One poll of a wait-until-gone; same retry-as-poll contract as awaitEndpointInService. */
    async awaitEndpointDeleted({ endpointName }: { endpointName: string }): Promise<void> {
      const ep = await describeEndpoint(endpointName);
      if (!ep) return;
      if (ep.EndpointStatus === 'Deleting') throw notYet(`Endpoint ${endpointName} is Deleting`, 'EndpointNotDeleted');
      // Deletion was never started (or an update is running): ask again.
      await self.deleteEndpoint({ endpointName });
      throw notYet(`Endpoint ${endpointName} is ${ep.EndpointStatus}; delete requested`, 'EndpointNotDeleted');
    },

    /** Deletes a config; with an OwnedDelete guard, only this run's and only if the endpoint is not on it. */
    async deleteEndpointConfig({ configName, ownedBy, endpointName }: { configName: string } & OwnedDelete): Promise<DeleteOutcome> {
      if (ownedBy !== undefined) {
        const config = await callAwsOrUndefined(`DescribeEndpointConfig ${configName}`, () =>
          sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: configName })),
        );
        if (!config) return { deleted: false };
        const kept = await keptBecause(config.EndpointConfigArn!, ownedBy, endpointName, (uses) => uses.configs.has(configName));
        if (kept) return { deleted: false, kept };
      }
      return deleteIfPresent(`DeleteEndpointConfig ${configName}`, () => sagemaker.send(new DeleteEndpointConfigCommand({ EndpointConfigName: configName })));
    },

    /** Deletes a model; with an OwnedDelete guard, only this run's and only if the endpoint does not serve it. */
    async deleteModel({ modelName, ownedBy, endpointName }: { modelName: string } & OwnedDelete): Promise<DeleteOutcome> {
      if (ownedBy !== undefined) {
        const model = await callAwsOrUndefined(`DescribeModel ${modelName}`, () => sagemaker.send(new DescribeModelCommand({ ModelName: modelName })));
        if (!model) return { deleted: false };
        const kept = await keptBecause(model.ModelArn!, ownedBy, endpointName, (uses) => uses.models.has(modelName));
        if (kept) return { deleted: false, kept };
      }
      return deleteIfPresent(`DeleteModel ${modelName}`, () => sagemaker.send(new DeleteModelCommand({ ModelName: modelName })));
    },

    /**
     * Everything a deploy of `endpointName` may have left: the endpoint, and every config and
     * model tagged with it (older configs from updates, leftovers of a half-finished deploy).
     */
    async findEndpointResources({ endpointName }: { endpointName: string }): Promise<EndpointResources> {
      const ep = await describeEndpoint(endpointName);
      const tagged = async (arn: string) => (await tagsOf(arn))[TAG_ENDPOINT] === endpointName;
      // Names derived from the endpoint's start with its first 50 characters (resource-names.ts).
      const query = { NameContains: endpointName.slice(0, 50), MaxResults: 100 };
      const configNames: string[] = [];
      for await (const page of awsPages('ListEndpointConfigs', paginateListEndpointConfigs({ client: sagemaker }, query))) {
        for (const c of page.EndpointConfigs ?? []) if (await tagged(c.EndpointConfigArn!)) configNames.push(c.EndpointConfigName!);
      }
      const modelNames: string[] = [];
      for await (const page of awsPages('ListModels', paginateListModels({ client: sagemaker }, query))) {
        for (const m of page.Models ?? []) if (await tagged(m.ModelArn!)) modelNames.push(m.ModelName!);
      }
      return {
        endpoint: ep && {
          arn: ep.EndpointArn!,
          status: ep.EndpointStatus!,
          configName: ep.EndpointConfigName!,
          variantNames: (ep.ProductionVariants ?? []).map((v) => v.VariantName!),
          createdBy: (await tagsOf(ep.EndpointArn!))[TAG_CREATED_BY],
        },
        configNames,
        modelNames,
      };
    },
  };
  return self;
}

/** "Not found" on delete means someone (maybe an earlier attempt of ours) already did it. */
async function deleteIfPresent(action: string, call: () => Promise<object>): Promise<{ deleted: boolean }> {
  return { deleted: (await callAwsOrUndefined(action, call)) !== undefined };
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
