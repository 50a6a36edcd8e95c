// CreateEndpoint / DescribeEndpoint / UpdateEndpoint / DeleteEndpoint / ListEndpoints.
// These validate, record the request and return at once, as AWS does; the state machine that
// starts and stops model processes is in endpoint-lifecycle.ts, and an update's rollout
// (DeploymentConfig, deployment-config.ts) in endpoint-rollout.ts.
import { createHash } from 'node:crypto';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type {
  CreateEndpointInput,
  CreateEndpointOutput,
  DeleteEndpointInput,
  DescribeEndpointInput,
  DescribeEndpointOutput,
  EndpointStatus,
  ListEndpointsInput,
  DeploymentConfig,
  ListEndpointsOutput,
  PendingDeploymentSummary,
  ProductionVariantInstanceType,
  ProductionVariantSummary,
  UpdateEndpointInput,
  UpdateEndpointOutput,
} from '@aws-sdk/client-sagemaker';
import type { VariantLaunch } from '../instances/types.js';
import type { Operation, OperationContext } from './context.js';
import { checkDeploymentConfigShape, rolloutPlan, type RolloutPlan } from './deployment-config.js';
import { requireEndpointConfig } from './endpoint-configs.js';
import { checkInstanceQuota } from './instance-quota.js';
import { listRecords } from './listing.js';
import { servingContainer } from './models.js';
import { validationError } from './protocol.js';
import { sageMakerArn, type CapacityVariant, type DeployedFleet, type EndpointConfigRecord, type EndpointRecord, type FleetSpec } from './store.js';
import { notFoundMessage, putTags } from './tags.js';
import { InputChecks } from './validation.js';

/** AWS's default for ContainerStartupHealthCheckTimeoutInSeconds. */
export const DEFAULT_HEALTH_CHECK_TIMEOUT_SECONDS = 600;

const ENDPOINT_STATUSES: EndpointStatus[] = [
  'OutOfService',
  'Creating',
  'Updating',
  'SystemUpdating',
  'RollingBack',
  'InService',
  'Deleting',
  'Failed',
  'UpdateRollbackFailed',
];

/**
 * Resolves a config into the processes to start, at request time like AWS: models must exist
 * now, and later changes to (or deletion of) the config and models do not affect the endpoint.
 */
function fleetSpecOf(config: EndpointConfigRecord, { store, region }: OperationContext): FleetSpec {
  const variants: VariantLaunch[] = [];
  const capacity: CapacityVariant[] = [];
  for (const pv of config.ProductionVariants) {
    if (!pv.ModelName) {
      // Inference-component capacity: instances that components place their copies on.
      capacity.push({
        variantName: pv.VariantName!,
        instanceType: pv.InstanceType!,
        initialInstanceCount: pv.InitialInstanceCount ?? 1,
        ManagedInstanceScaling: pv.ManagedInstanceScaling,
        RoutingConfig: pv.RoutingConfig,
      });
      continue;
    }
    const model = store.models.get(pv.ModelName);
    if (!model) throw validationError(notFoundMessage.model(sageMakerArn(region, 'model', pv.ModelName)));
    const container = servingContainer(model);
    variants.push({
      variantName: pv.VariantName!,
      image: container.Image!,
      environment: { ...container.Environment },
      instanceType: pv.ServerlessConfig ? undefined : pv.InstanceType,
      // Serverless variants get one process: concurrency limits are not emulated.
      instanceCount: pv.InitialInstanceCount ?? 1,
      healthCheckTimeoutSeconds: pv.ContainerStartupHealthCheckTimeoutInSeconds ?? DEFAULT_HEALTH_CHECK_TIMEOUT_SECONDS,
      weight: pv.InitialVariantWeight ?? 1,
    });
  }
  return { EndpointConfigName: config.EndpointConfigName, variants, ...(capacity.length && { capacity }) };
}

function checkNames(input: { EndpointName?: string; EndpointConfigName?: string }, withConfig: boolean): void {
  const checks = new InputChecks();
  checks.name(input.EndpointName, 'endpointName');
  if (withConfig) checks.name(input.EndpointConfigName, 'endpointConfigName');
  checks.done();
}

function requireEndpoint(name: string, { store, region }: OperationContext): EndpointRecord {
  const endpoint = store.endpoints.get(name);
  if (!endpoint) throw validationError(notFoundMessage.endpoint(sageMakerArn(region, 'endpoint', name)));
  return endpoint;
}

export const createEndpoint: Operation<CreateEndpointInput, CreateEndpointOutput> = (input, ctx) => {
  const checks = new InputChecks();
  checks.name(input.EndpointName, 'endpointName');
  checks.name(input.EndpointConfigName, 'endpointConfigName');
  checks.tags(input.Tags, 'tags');
  checkDeploymentConfigShape(checks, input.DeploymentConfig as DeploymentConfig | undefined);
  checks.done();
  const name = input.EndpointName!;
  const arn = sageMakerArn(ctx.region, 'endpoint', name);
  if (ctx.store.endpoints.get(name)) throw validationError(`Cannot create already existing endpoint "${arn}".`);
  const config = requireEndpointConfig(input.EndpointConfigName!, ctx);
  const spec = fleetSpecOf(config, ctx);
  checkInstanceQuota(ctx.store, 'endpoint', spec.variants);

  const now = Date.now();
  const endpoint: EndpointRecord = {
    EndpointName: name,
    EndpointArn: arn,
    EndpointConfigName: config.EndpointConfigName,
    EndpointStatus: 'Creating',
    CreationTime: now,
    LastModifiedTime: now,
    DeploymentConfig: input.DeploymentConfig as EndpointRecord['DeploymentConfig'],
    AsyncInferenceConfig: config.AsyncInferenceConfig,
    pending: { ...spec, kind: 'create', startedAt: now },
  };
  ctx.store.endpoints.put(endpoint);
  putTags(ctx.store, arn, input.Tags);
  ctx.store.save();
  ctx.endpoints.launch(endpoint);
  return { EndpointArn: arn };
};

/** AWS's ResolvedImage pins the tag to a digest; a stable stand-in digest keeps the shape. */
function resolvedImage(image: string): string {
  const repository = image.replace(/[:@].*$/, '');
  return `${repository}@sha256:${createHash('sha256').update(image).digest('hex')}`;
}

/** Inference-component variants: no image of their own; instances as placement has them. */
function capacitySummaries(endpoint: EndpointRecord, fleet: DeployedFleet, ctx: OperationContext): ProductionVariantSummary[] {
  return (fleet.capacity ?? []).map((v) => ({
    VariantName: v.variantName,
    CurrentWeight: 1,
    DesiredWeight: 1,
    CurrentInstanceCount: ctx.components.instanceCount(endpoint, v.variantName) ?? v.initialInstanceCount,
    DesiredInstanceCount: ctx.components.instanceCount(endpoint, v.variantName) ?? v.initialInstanceCount,
    ManagedInstanceScaling: v.ManagedInstanceScaling,
    RoutingConfig: v.RoutingConfig ?? { RoutingStrategy: 'LEAST_OUTSTANDING_REQUESTS' },
  }));
}

function variantSummaries(fleet: DeployedFleet): ProductionVariantSummary[] {
  return fleet.variants.map((v) => ({
    VariantName: v.variantName,
    DeployedImages: [{ SpecifiedImage: v.image, ResolvedImage: resolvedImage(v.image), ResolutionTime: new Date(fleet.deployedAt) }],
    CurrentWeight: v.weight,
    DesiredWeight: v.weight,
    CurrentInstanceCount: fleet.instanceCounts[v.variantName] ?? 0,
    DesiredInstanceCount: v.instanceCount,
  }));
}

/** The new fleet while an update runs: its stage (VariantStatus) and, during a rollout, its share of the traffic. */
function pendingDeploymentSummary(pending: NonNullable<EndpointRecord['pending']>): PendingDeploymentSummary {
  const progress = pending.progress;
  const status = progress ?? { status: 'Creating' as const, statusMessage: undefined, since: pending.startedAt, share: 0, instanceCounts: undefined };
  return {
    EndpointConfigName: pending.EndpointConfigName,
    StartTime: new Date(pending.startedAt),
    ProductionVariants: pending.variants.map((v) => ({
      VariantName: v.variantName,
      DeployedImages: [{ SpecifiedImage: v.image, ResolvedImage: resolvedImage(v.image), ResolutionTime: new Date(pending.startedAt) }],
      // The weight the new fleet's variant has in routing now: its desired weight times the shifted share.
      CurrentWeight: v.weight * status.share,
      DesiredWeight: v.weight,
      CurrentInstanceCount: status.instanceCounts?.[v.variantName] ?? 0,
      DesiredInstanceCount: v.instanceCount,
      InstanceType: v.instanceType as ProductionVariantInstanceType | undefined,
      VariantStatus: [{ Status: status.status, StatusMessage: status.statusMessage, StartTime: new Date(status.since) }],
    })),
  };
}

export const describeEndpoint: Operation<DescribeEndpointInput, DescribeEndpointOutput> = (input, ctx) => {
  checkNames(input, false);
  const e = requireEndpoint(input.EndpointName!, ctx);
  const pendingUpdate = e.pending?.kind === 'update' ? e.pending : undefined;
  return {
    EndpointName: e.EndpointName,
    EndpointArn: e.EndpointArn,
    EndpointConfigName: e.EndpointConfigName,
    ProductionVariants: e.deployed ? [...variantSummaries(e.deployed), ...capacitySummaries(e, e.deployed, ctx)] : undefined,
    EndpointStatus: e.EndpointStatus,
    FailureReason: e.FailureReason,
    CreationTime: new Date(e.CreationTime),
    LastModifiedTime: new Date(e.LastModifiedTime),
    LastDeploymentConfig: e.DeploymentConfig,
    AsyncInferenceConfig: e.AsyncInferenceConfig,
    PendingDeploymentSummary: pendingUpdate && pendingDeploymentSummary(pendingUpdate),
  };
};

/**
 * The auto-rollback alarms must exist in CloudWatch: a rollout whose guardrail it cannot see
 * would run unguarded. (AWS's documents only say the execution role needs
 * cloudwatch:DescribeAlarms on them; refusing at once is the local cloud's choice.)
 */
async function requireAlarms(plan: RolloutPlan, ctx: OperationContext): Promise<void> {
  if (!plan.alarmNames.length) return;
  const { MetricAlarms = [], CompositeAlarms = [] } = await ctx
    .cloudWatch()
    .send(new DescribeAlarmsCommand({ AlarmNames: plan.alarmNames, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }));
  const found = new Set([...MetricAlarms, ...CompositeAlarms].map((a) => a.AlarmName));
  const missing = plan.alarmNames.filter((n) => !found.has(n));
  if (missing.length) {
    throw validationError(`The CloudWatch alarm(s) [${missing.join(', ')}] in AutoRollbackConfiguration do not exist.`);
  }
}

/**
 * Blue/green: the new config's fleet starts while the old one serves, and traffic moves only
 * once it is healthy; with a DeploymentConfig, in the steps it asks for (endpoint-rollout.ts). RetainAllVariantProperties and friends are accepted but not applied:
 * the new config's variant properties are always used.
 */
export const updateEndpoint: Operation<UpdateEndpointInput, UpdateEndpointOutput> = async (input, ctx) => {
  const checks = new InputChecks();
  checks.name(input.EndpointName, 'endpointName');
  checks.name(input.EndpointConfigName, 'endpointConfigName');
  checkDeploymentConfigShape(checks, input.DeploymentConfig as DeploymentConfig | undefined);
  checks.done();
  const endpoint = requireEndpoint(input.EndpointName!, ctx);
  if (endpoint.EndpointStatus !== 'InService') {
    const state = endpoint.EndpointStatus === 'Failed' ? 'failed' : 'in-progress';
    throw validationError(`Cannot update ${state} endpoint "${endpoint.EndpointArn}".`);
  }
  const config = requireEndpointConfig(input.EndpointConfigName!, ctx);
  const spec = fleetSpecOf(config, ctx);
  const deploymentConfig = (input.RetainDeploymentConfig ? endpoint.DeploymentConfig : input.DeploymentConfig) as DeploymentConfig | undefined;
  // Inference-component endpoints move their components' copies instead (UpdateInferenceComponent's own DeploymentConfig).
  const modelBased = !spec.capacity?.length && !endpoint.deployed?.capacity?.length && endpoint.deployed;
  const plan = modelBased ? rolloutPlan(deploymentConfig, spec.variants, endpoint.deployed!.variants) : undefined;
  if (plan) await requireAlarms(plan, ctx);
  // Blue/green: the new fleet starts while the old one still serves, so both count.
  checkInstanceQuota(ctx.store, 'endpoint', spec.variants);
  Object.assign(endpoint, {
    EndpointStatus: 'Updating',
    LastModifiedTime: Date.now(),
    FailureReason: undefined,
    DeploymentConfig: deploymentConfig,
    pending: { ...spec, kind: 'update', startedAt: Date.now(), plan },
  } satisfies Partial<EndpointRecord>);
  ctx.store.save();
  ctx.endpoints.launch(endpoint);
  return { EndpointArn: endpoint.EndpointArn };
};

/**
 * States in which AWS refuses DeleteEndpoint, as it refuses UpdateEndpoint, with "Cannot update
 * in-progress endpoint" (sic: the same message for both operations; see docs/local-cloud.md
 * "Endpoint states" for the sources). The caller waits for InService or Failed, then deletes.
 */
const IN_PROGRESS_STATUSES: readonly EndpointStatus[] = ['Creating', 'Updating', 'SystemUpdating', 'RollingBack'];

export const deleteEndpoint: Operation<DeleteEndpointInput, object> = (input, ctx) => {
  checkNames(input, false);
  const endpoint = requireEndpoint(input.EndpointName!, ctx);
  if (IN_PROGRESS_STATUSES.includes(endpoint.EndpointStatus)) {
    throw validationError(`Cannot update in-progress endpoint "${endpoint.EndpointArn}".`);
  }
  // A second delete while the first is still stopping processes changes nothing.
  if (endpoint.EndpointStatus !== 'Deleting') ctx.endpoints.delete(endpoint);
  return {};
};

export const listEndpoints: Operation<ListEndpointsInput, ListEndpointsOutput> = (input, { store }) => {
  const { page, NextToken } = listRecords(
    store.endpoints.values().map((e) => ({ name: e.EndpointName, creationTime: e.CreationTime, e })),
    input,
    { statuses: ENDPOINT_STATUSES, statusOf: (r) => r.e.EndpointStatus, lastModifiedOf: (r) => r.e.LastModifiedTime },
  );
  return {
    Endpoints: page.map(({ e }) => ({
      EndpointName: e.EndpointName,
      EndpointArn: e.EndpointArn,
      CreationTime: new Date(e.CreationTime),
      LastModifiedTime: new Date(e.LastModifiedTime),
      EndpointStatus: e.EndpointStatus,
    })),
    NextToken,
  };
};
