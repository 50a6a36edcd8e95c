// Application Auto Scaling's operations for the `sagemaker` namespace: scalable targets,
// scaling policies (target tracking with SageMaker's predefined metrics or a customized
// metric; step scaling on a CloudWatch alarm) and scaling activities, with the shapes and
// errors of botocore's application-autoscaling model. What the policies then do is in evaluator.ts.
import { randomUUID } from 'node:crypto';
import type {
  DeleteScalingPolicyRequest,
  DeregisterScalableTargetRequest,
  DescribeScalableTargetsRequest,
  DescribeScalableTargetsResponse,
  DescribeScalingActivitiesRequest,
  DescribeScalingActivitiesResponse,
  DescribeScalingPoliciesRequest,
  DescribeScalingPoliciesResponse,
  PutScalingPolicyRequest,
  PutScalingPolicyResponse,
  RegisterScalableTargetRequest,
  RegisterScalableTargetResponse,
  ScalableDimension,
} from '@aws-sdk/client-application-auto-scaling';
import type { Logger } from 'pino';
import { AwsServiceError, validationError, type Wire } from '../sagemaker/protocol.js';
import { ACCOUNT_ID } from '../sagemaker/store.js';
import { InputChecks } from '../sagemaker/validation.js';
import { dimensionFits, sageMakerResource, type SageMakerResource, COMPONENT_DIMENSION } from './scalable-resources.js';
import { AutoScalingStore, targetKey, type ScalableTargetRecord, type ScalingPolicyRecord } from './store.js';
import { SAGEMAKER_PREDEFINED_METRICS, type TargetTrackingAlarms } from './target-tracking-alarms.js';

export interface AutoScalingContext {
  store: AutoScalingStore;
  region: string;
  alarms: TargetTrackingAlarms;
  /** Whether the endpoint variant or inference component exists in the local cloud. */
  resourceExists(resource: SageMakerResource): boolean;
  log: Logger;
}

export type AutoScalingOperation<I, O> = (input: Wire<I>, ctx: AutoScalingContext) => O | Promise<O>;

const SCALABLE_DIMENSIONS: ScalableDimension[] = [
  'ecs:service:DesiredCount',
  'ec2:spot-fleet-request:TargetCapacity',
  'elasticmapreduce:instancegroup:InstanceCount',
  'appstream:fleet:DesiredCapacity',
  'dynamodb:table:ReadCapacityUnits',
  'dynamodb:table:WriteCapacityUnits',
  'dynamodb:index:ReadCapacityUnits',
  'dynamodb:index:WriteCapacityUnits',
  'rds:cluster:ReadReplicaCount',
  'sagemaker:variant:DesiredInstanceCount',
  'custom-resource:ResourceType:Property',
  'comprehend:document-classifier-endpoint:DesiredInferenceUnits',
  'comprehend:entity-recognizer-endpoint:DesiredInferenceUnits',
  'lambda:function:ProvisionedConcurrency',
  'cassandra:table:ReadCapacityUnits',
  'cassandra:table:WriteCapacityUnits',
  'kafka:broker-storage:VolumeSize',
  'elasticache:cache-cluster:Nodes',
  'elasticache:replication-group:NodeGroups',
  'elasticache:replication-group:Replicas',
  'neptune:cluster:ReadReplicaCount',
  'sagemaker:variant:DesiredProvisionedConcurrency',
  'sagemaker:inference-component:DesiredCopyCount',
  'workspaces:workspacespool:DesiredUserSessions',
] as ScalableDimension[];
const POLICY_TYPES = ['StepScaling', 'TargetTrackingScaling', 'PredictiveScaling'];
const ADJUSTMENT_TYPES = ['ChangeInCapacity', 'PercentChangeInCapacity', 'ExactCapacity'];
const AGGREGATION_TYPES = ['Average', 'Minimum', 'Maximum'];
const STATISTICS = ['Average', 'Minimum', 'Maximum', 'SampleCount', 'Sum'];
const RESOURCE_ID_PATTERN = '[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\r\\n\\t]*';

/** The service-linked role AWS fills in when RoleARN is omitted. */
const SERVICE_LINKED_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint`;

function checkTargetIdentity(checks: InputChecks, input: { ResourceId?: unknown; ScalableDimension?: unknown }, required = true): void {
  const id = input.ResourceId;
  const present = required ? checks.requiredString(id, 'resourceId') : checks.optionalString(id, 'resourceId');
  if (present && typeof id === 'string') {
    checks.minLength(id, 'resourceId', 1);
    checks.maxLength(id, 'resourceId', 1600);
    checks.pattern(id, 'resourceId', RESOURCE_ID_PATTERN);
  }
  if (required) checks.required(input.ScalableDimension, 'scalableDimension');
  checks.oneOf(input.ScalableDimension, 'scalableDimension', SCALABLE_DIMENSIONS);
}

/** AWS's answer for a ResourceId and dimension that do not make a SageMaker scalable resource. */
function resourceOf(resourceId: string, dimension: string): SageMakerResource {
  const resource = sageMakerResource(resourceId);
  if (!resource || !dimensionFits(resource, dimension)) {
    throw validationError('Unsupported service namespace, resource type or scalable dimension');
  }
  return resource;
}

function requireTarget(ctx: AutoScalingContext, resourceId: string, dimension: string, what = 'registered'): ScalableTargetRecord {
  const target = ctx.store.targets.get(targetKey(resourceId, dimension));
  if (!target) {
    throw new AwsServiceError(
      'ObjectNotFoundException',
      `No scalable target ${what} for service namespace: sagemaker, resource ID: ${resourceId}, scalable dimension: ${dimension}`,
    );
  }
  return target;
}

export const registerScalableTarget: AutoScalingOperation<RegisterScalableTargetRequest, RegisterScalableTargetResponse> = (input, ctx) => {
  const checks = new InputChecks();
  checkTargetIdentity(checks, input);
  checks.integerAtLeast(input.MinCapacity, 'minCapacity', Number.MIN_SAFE_INTEGER);
  checks.integerAtLeast(input.MaxCapacity, 'maxCapacity', Number.MIN_SAFE_INTEGER);
  if (checks.optionalString(input.RoleARN, 'roleARN')) checks.maxLength(input.RoleARN, 'roleARN', 1600);
  checks.done();
  const resourceId = input.ResourceId!;
  const dimension = input.ScalableDimension as ScalableDimension;
  const resource = resourceOf(resourceId, dimension);
  const existing = ctx.store.targets.get(targetKey(resourceId, dimension));
  const min = input.MinCapacity ?? existing?.MinCapacity;
  const max = input.MaxCapacity ?? existing?.MaxCapacity;
  if (min === undefined || max === undefined) {
    throw validationError('MinCapacity and MaxCapacity must be specified when registering a new scalable target');
  }
  const floor = dimension === COMPONENT_DIMENSION ? 0 : 1;
  if (min < floor) throw validationError(`Minimum capacity must be at least ${floor} for scalable dimension ${dimension}`);
  if (max < min) throw validationError('Maximum capacity cannot be less than minimum capacity');
  if (!ctx.resourceExists(resource)) {
    const what =
      resource.kind === 'variant'
        ? `endpoint ${resource.endpointName} or variant ${resource.variantName}`
        : `inference component ${resource.inferenceComponentName}`;
    throw validationError(`The ${what} does not exist: ${resourceId}`);
  }
  const target: ScalableTargetRecord = existing ?? {
    ResourceId: resourceId,
    ScalableDimension: dimension,
    MinCapacity: min,
    MaxCapacity: max,
    RoleARN: input.RoleARN ?? SERVICE_LINKED_ROLE,
    CreationTime: Date.now(),
    SuspendedState: { DynamicScalingInSuspended: false, DynamicScalingOutSuspended: false, ScheduledScalingSuspended: false },
    ScalableTargetARN: `arn:aws:application-autoscaling:${ctx.region}:${ACCOUNT_ID}:scalable-target/${randomUUID().replace(/-/g, '').slice(0, 28)}`,
  };
  Object.assign(target, { MinCapacity: min, MaxCapacity: max, SuspendedState: { ...target.SuspendedState, ...input.SuspendedState } });
  if (input.RoleARN) target.RoleARN = input.RoleARN;
  ctx.store.targets.set(targetKey(resourceId, dimension), target);
  ctx.store.save();
  return { ScalableTargetARN: target.ScalableTargetARN };
};

/** DescribeScalableTargets / Policies / Activities page with MaxResults (1..50) and an opaque NextToken. */
function page<T>(items: T[], input: { MaxResults?: number; NextToken?: string }, max = 50): { items: T[]; NextToken?: string } {
  const checks = new InputChecks();
  checks.integerAtLeast(input.MaxResults, 'maxResults', 1, max);
  checks.done();
  const start = input.NextToken ? Number(Buffer.from(input.NextToken, 'base64url').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) throw new AwsServiceError('InvalidNextTokenException', 'Invalid token');
  const size = input.MaxResults ?? max;
  const end = start + size;
  return { items: items.slice(start, end), NextToken: end < items.length ? Buffer.from(String(end)).toString('base64url') : undefined };
}

export const describeScalableTargets: AutoScalingOperation<DescribeScalableTargetsRequest, DescribeScalableTargetsResponse> = (input, ctx) => {
  const checks = new InputChecks();
  checks.oneOf(input.ScalableDimension, 'scalableDimension', SCALABLE_DIMENSIONS);
  checks.list(input.ResourceIds, 'resourceIds');
  checks.done();
  const targets = [...ctx.store.targets.values()].filter(
    (t) =>
      (!input.ResourceIds?.length || input.ResourceIds.includes(t.ResourceId)) && (!input.ScalableDimension || input.ScalableDimension === t.ScalableDimension),
  );
  const { items, NextToken } = page(targets, input);
  return {
    ScalableTargets: items.map((t) => ({ ServiceNamespace: 'sagemaker', ...t, CreationTime: new Date(t.CreationTime) })),
    NextToken,
  };
};

export const deregisterScalableTarget: AutoScalingOperation<DeregisterScalableTargetRequest, object> = async (input, ctx) => {
  const checks = new InputChecks();
  checkTargetIdentity(checks, input);
  checks.done();
  const target = requireTarget(ctx, input.ResourceId!, input.ScalableDimension!, 'found');
  // AWS deletes the target's policies, and with them the alarms target tracking created.
  const policies = ctx.store.policiesOf(target.ResourceId, target.ScalableDimension);
  await ctx.alarms.delete([...policies.values()].flatMap((p) => p.Alarms.map((a) => a.AlarmName!)));
  ctx.store.policies.delete(targetKey(target.ResourceId, target.ScalableDimension));
  ctx.store.targets.delete(targetKey(target.ResourceId, target.ScalableDimension));
  ctx.store.save();
  return {};
};

function checkPolicyConfiguration(checks: InputChecks, input: Wire<PutScalingPolicyRequest>, resource: SageMakerResource): void {
  const type = input.PolicyType ?? 'StepScaling';
  if (type === 'TargetTrackingScaling') {
    const config = input.TargetTrackingScalingPolicyConfiguration;
    if (!config) throw validationError('TargetTrackingScalingPolicyConfiguration is required for a policy of type TargetTrackingScaling');
    const at = 'targetTrackingScalingPolicyConfiguration';
    checks.required(config.TargetValue, `${at}.targetValue`);
    checks.integerAtLeast(config.ScaleInCooldown, `${at}.scaleInCooldown`, Number.MIN_SAFE_INTEGER);
    checks.integerAtLeast(config.ScaleOutCooldown, `${at}.scaleOutCooldown`, Number.MIN_SAFE_INTEGER);
    const predefined = config.PredefinedMetricSpecification;
    const custom = config.CustomizedMetricSpecification;
    if (predefined) checks.requiredString(predefined.PredefinedMetricType, `${at}.predefinedMetricSpecification.predefinedMetricType`);
    if (custom) {
      checks.oneOf(custom.Statistic, `${at}.customizedMetricSpecification.statistic`, STATISTICS);
    }
    checks.done();
    if (!predefined === !custom) {
      throw validationError('Exactly one of PredefinedMetricSpecification or CustomizedMetricSpecification must be specified');
    }
    if (typeof config.TargetValue !== 'number' || config.TargetValue <= 0) {
      throw validationError('TargetValue must be a positive number');
    }
    if (predefined) {
      const metric = predefined.PredefinedMetricType!;
      const family = resource.kind === 'variant' ? 'SageMakerVariant' : 'SageMakerInferenceComponent';
      if (!SAGEMAKER_PREDEFINED_METRICS.includes(metric) || !metric.startsWith(family)) {
        throw validationError(`Unsupported predefined metric type ${metric} for service namespace sagemaker and scalable dimension ${input.ScalableDimension}`);
      }
    }
    if (custom) {
      if (custom.Metrics)
        throw validationError(
          'The local cloud does not evaluate metric math (CustomizedMetricSpecification.Metrics); give MetricName, Namespace and Statistic',
        );
      if (!custom.MetricName || !custom.Namespace || !custom.Statistic) {
        throw validationError('CustomizedMetricSpecification needs MetricName, Namespace and Statistic');
      }
    }
  } else if (type === 'StepScaling') {
    const config = input.StepScalingPolicyConfiguration;
    if (!config) throw validationError('StepScalingPolicyConfiguration is required for a policy of type StepScaling');
    const at = 'stepScalingPolicyConfiguration';
    checks.oneOf(config.AdjustmentType, `${at}.adjustmentType`, ADJUSTMENT_TYPES);
    checks.oneOf(config.MetricAggregationType, `${at}.metricAggregationType`, AGGREGATION_TYPES);
    checks.integerAtLeast(config.Cooldown, `${at}.cooldown`, Number.MIN_SAFE_INTEGER);
    checks.list(config.StepAdjustments, `${at}.stepAdjustments`);
    config.StepAdjustments?.forEach((step, i) => checks.required(step.ScalingAdjustment, `${at}.stepAdjustments.${i + 1}.member.scalingAdjustment`));
    checks.done();
    if (!config.AdjustmentType) throw validationError('AdjustmentType is required for a step scaling policy');
    if (!config.StepAdjustments?.length) throw validationError('StepAdjustments must have at least one step adjustment');
    const unbounded = config.StepAdjustments.filter((s) => s.MetricIntervalUpperBound === undefined || s.MetricIntervalUpperBound === null);
    if (unbounded.length > 1) throw validationError('Only one step adjustment can have an unbounded upper bound (null MetricIntervalUpperBound)');
  } else {
    throw validationError('The local cloud does not emulate PredictiveScaling policies');
  }
}

export const putScalingPolicy: AutoScalingOperation<PutScalingPolicyRequest, PutScalingPolicyResponse> = async (input, ctx) => {
  const checks = new InputChecks();
  if (checks.requiredString(input.PolicyName, 'policyName')) {
    checks.minLength(input.PolicyName, 'policyName', 1);
    checks.maxLength(input.PolicyName, 'policyName', 256);
    checks.matches(input.PolicyName, 'policyName', /^[\x20-\x7e]+$/, '\\p{Print}+');
  }
  checkTargetIdentity(checks, input);
  checks.oneOf(input.PolicyType, 'policyType', POLICY_TYPES);
  checks.done();
  const resourceId = input.ResourceId!;
  const dimension = input.ScalableDimension as ScalableDimension;
  const resource = resourceOf(resourceId, dimension);
  checkPolicyConfiguration(new InputChecks(), input, resource);
  requireTarget(ctx, resourceId, dimension);

  const policies = ctx.store.policiesOf(resourceId, dimension);
  const previous = policies.get(input.PolicyName!);
  const type = (input.PolicyType ?? 'StepScaling') as ScalingPolicyRecord['PolicyType'];
  const PolicyARN =
    previous?.PolicyARN ??
    `arn:aws:autoscaling:${ctx.region}:${ACCOUNT_ID}:scalingPolicy:${randomUUID()}:resource/sagemaker/${resourceId}:policyName/${input.PolicyName}`;
  let Alarms = previous?.Alarms ?? [];
  if (type === 'TargetTrackingScaling') {
    Alarms = await ctx.alarms.put(PolicyARN, resourceId, input.TargetTrackingScalingPolicyConfiguration as never, previous?.PolicyType === type ? Alarms : []);
  } else if (previous?.Alarms.length) {
    await ctx.alarms.delete(previous.Alarms.map((a) => a.AlarmName!));
    Alarms = [];
  }
  const policy: ScalingPolicyRecord = {
    PolicyARN,
    PolicyName: input.PolicyName!,
    ResourceId: resourceId,
    ScalableDimension: dimension,
    PolicyType: type,
    TargetTrackingScalingPolicyConfiguration: type === 'TargetTrackingScaling' ? (input.TargetTrackingScalingPolicyConfiguration as never) : undefined,
    StepScalingPolicyConfiguration: type === 'StepScaling' ? (input.StepScalingPolicyConfiguration as never) : undefined,
    Alarms,
    CreationTime: previous?.CreationTime ?? Date.now(),
  };
  policies.set(policy.PolicyName, policy);
  ctx.store.save();
  return type === 'TargetTrackingScaling' ? { PolicyARN, Alarms } : { PolicyARN };
};

export const describeScalingPolicies: AutoScalingOperation<DescribeScalingPoliciesRequest, DescribeScalingPoliciesResponse> = (input, ctx) => {
  const checks = new InputChecks();
  checkTargetIdentity(checks, input, false);
  checks.list(input.PolicyNames, 'policyNames');
  checks.done();
  const policies = ctx.store
    .allPolicies()
    .filter(
      (p) =>
        (!input.PolicyNames?.length || input.PolicyNames.includes(p.PolicyName)) &&
        (!input.ResourceId || input.ResourceId === p.ResourceId) &&
        (!input.ScalableDimension || input.ScalableDimension === p.ScalableDimension),
    );
  const { items, NextToken } = page(policies, input, 10);
  return {
    ScalingPolicies: items.map((p) => ({ ServiceNamespace: 'sagemaker', ...p, CreationTime: new Date(p.CreationTime) })),
    NextToken,
  };
};

export const deleteScalingPolicy: AutoScalingOperation<DeleteScalingPolicyRequest, object> = async (input, ctx) => {
  const checks = new InputChecks();
  if (checks.requiredString(input.PolicyName, 'policyName')) checks.minLength(input.PolicyName, 'policyName', 1);
  checkTargetIdentity(checks, input);
  checks.done();
  const policies = ctx.store.policiesOf(input.ResourceId!, input.ScalableDimension!);
  const policy = policies.get(input.PolicyName!);
  if (!policy) {
    throw new AwsServiceError(
      'ObjectNotFoundException',
      `No scaling policy found for service namespace: sagemaker, resource ID: ${input.ResourceId}, scalable dimension: ${input.ScalableDimension}, policy name: ${input.PolicyName}`,
    );
  }
  await ctx.alarms.delete(policy.Alarms.map((a) => a.AlarmName!));
  policies.delete(policy.PolicyName);
  ctx.store.save();
  return {};
};

export const describeScalingActivities: AutoScalingOperation<DescribeScalingActivitiesRequest, DescribeScalingActivitiesResponse> = (input, ctx) => {
  const checks = new InputChecks();
  checkTargetIdentity(checks, input, false);
  checks.done();
  const activities = ctx.store.activities.filter(
    (a) => (!input.ResourceId || input.ResourceId === a.ResourceId) && (!input.ScalableDimension || input.ScalableDimension === a.ScalableDimension),
  );
  const { items, NextToken } = page(activities, input);
  return {
    ScalingActivities: items.map(({ desiredCapacity: _d, direction: _dir, PolicyName: _p, StartTime, EndTime, ...a }) => ({
      ServiceNamespace: 'sagemaker',
      ...a,
      StartTime: new Date(StartTime),
      EndTime: EndTime === undefined ? undefined : new Date(EndTime),
    })),
    NextToken,
  };
};
