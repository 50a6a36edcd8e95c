// SageMaker control-plane activities. Each is idempotent: names are deterministic, "already
// exists" means describe and compare, "not found" on delete means done. Whether a resource was
// created by *this* workflow run is read from its tags, so a retried activity whose first
// attempt succeeded still reports `created: true` and compensation still removes it.
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
  type DescribeEndpointOutput,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ApplicationFailure } from '@temporalio/common';
import type { SecretRef } from '../common/endpoint-input';
import { TAG_CREATED_BY, TAG_ENDPOINT } from '../common/resource-names';
import { awsPages, callAws, callAwsOrUndefined, classifyAwsError, isAlreadyExists, isNotFound, notYet } from './aws-errors';
import { readTags, toTags, type ResourceTags } from './resource-tags';
import { createSecretResolver } from './secrets';

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
  modelName: string;
  variantName: string;
  instanceType: string;
  initialInstanceCount: number;
  containerStartupHealthCheckTimeoutSeconds: number;
  asyncInference?: { outputS3Uri: string; failureS3Uri?: string; maxConcurrentInvocationsPerInstance?: number };
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
  endpoint?: { arn: string; status: string; configName: string; variantNames: string[] };
  configNames: string[];
  modelNames: string[];
}

const TRANSITIONAL = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'UpdateRollbackFailed']);

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
      const variant = {
        VariantName: input.variantName,
        ModelName: input.modelName,
        InstanceType: input.instanceType as never,
        InitialInstanceCount: input.initialInstanceCount,
        InitialVariantWeight: 1,
        ContainerStartupHealthCheckTimeoutInSeconds: input.containerStartupHealthCheckTimeoutSeconds,
      };
      try {
        const out = await sagemaker.send(
          new CreateEndpointConfigCommand({
            EndpointConfigName: input.configName,
            ProductionVariants: [variant],
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
        ['async output path', input.asyncInference?.outputS3Uri, existing.AsyncInferenceConfig?.OutputConfig?.S3OutputPath],
      ]);
      const tags = await tagsOf(existing.EndpointConfigArn!);
      return { configArn: existing.EndpointConfigArn!, created: tags[TAG_CREATED_BY] === input.tags.runTag };
    },

    /** Creates the endpoint, or moves an existing one to `configName` (blue/green update). */
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
      if (TRANSITIONAL.has(status)) throw notYet(`Endpoint ${endpointName} is ${status}`, 'EndpointNotReady');
      throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} is ${status}, which will not become InService`, 'EndpointUnexpectedStatus');
    },

    async describeEndpointStatus({ endpointName }: { endpointName: string }): Promise<{ status: string; failureReason?: string }> {
      const ep = await describeEndpoint(endpointName);
      return { status: ep?.EndpointStatus ?? 'NotFound', failureReason: ep?.FailureReason };
    },

    async deleteEndpoint({ endpointName }: { endpointName: string }): Promise<{ deleted: boolean }> {
      try {
        await sagemaker.send(new DeleteEndpointCommand({ EndpointName: endpointName }));
        return { deleted: true };
      } catch (err) {
        if (isNotFound(err)) return { deleted: false };
        // Deleting an endpoint that is already Deleting is fine; anything else is classified.
        if (/Deleting/.test((err as Error).message ?? '')) return { deleted: true };
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

    deleteEndpointConfig: ({ configName }: { configName: string }) =>
      deleteIfPresent(`DeleteEndpointConfig ${configName}`, () => sagemaker.send(new DeleteEndpointConfigCommand({ EndpointConfigName: configName }))),

    deleteModel: ({ modelName }: { modelName: string }) =>
      deleteIfPresent(`DeleteModel ${modelName}`, () => sagemaker.send(new DeleteModelCommand({ ModelName: modelName }))),

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
