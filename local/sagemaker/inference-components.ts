// CreateInferenceComponent / DescribeInferenceComponent / ListInferenceComponents /
// UpdateInferenceComponent / UpdateInferenceComponentRuntimeConfig / DeleteInferenceComponent.
// These validate, record the request and return at once, as AWS does; copies start and stop in
// inference-component-lifecycle.ts. Shapes and constraints: botocore's service model.
import type {
  CreateInferenceComponentInput,
  CreateInferenceComponentOutput,
  DeleteInferenceComponentInput,
  DescribeInferenceComponentInput,
  DescribeInferenceComponentOutput,
  InferenceComponentDeploymentConfig,
  InferenceComponentRuntimeConfig,
  InferenceComponentSpecification,
  InferenceComponentStatus,
  ListInferenceComponentsInput,
  ListInferenceComponentsOutput,
  UpdateInferenceComponentInput,
  UpdateInferenceComponentOutput,
  UpdateInferenceComponentRuntimeConfigInput,
  UpdateInferenceComponentRuntimeConfigOutput,
} from '@aws-sdk/client-sagemaker';
import { exceedsInstance, instanceTypeSize } from '../../common/instance-types.js';
import type { Operation, OperationContext } from './context.js';
import { copyRequirements } from './inference-component-lifecycle.js';
import { listRecords } from './listing.js';
import { servingContainer } from './models.js';
import { validationError, type Wire } from './protocol.js';
import { isInferenceComponentEndpoint, sageMakerArn, type EndpointRecord, type InferenceComponentRecord } from './store.js';
import { notFoundMessage, putTags } from './tags.js';
import { InputChecks, MODEL_NAME_PATTERN } from './validation.js';

const STATUSES: InferenceComponentStatus[] = ['InService', 'Creating', 'Updating', 'Failed', 'Deleting'];

function checkSpecification(checks: InputChecks, spec: Wire<InferenceComponentSpecification> | undefined, path: string): void {
  if (!checks.required(spec, path) || !spec) return;
  if (spec.ModelName !== undefined) checks.name(spec.ModelName, `${path}.modelName`, MODEL_NAME_PATTERN);
  const start = spec.StartupParameters;
  checks.integerAtLeast(start?.ModelDataDownloadTimeoutInSeconds, `${path}.startupParameters.modelDataDownloadTimeoutInSeconds`, 60, 3600);
  checks.integerAtLeast(start?.ContainerStartupHealthCheckTimeoutInSeconds, `${path}.startupParameters.containerStartupHealthCheckTimeoutInSeconds`, 60, 3600);
  const req = spec.ComputeResourceRequirements;
  if (req) {
    const at = `${path}.computeResourceRequirements`;
    checks.numberAtLeast(req.NumberOfCpuCoresRequired, `${at}.numberOfCpuCoresRequired`, 0.25);
    checks.numberAtLeast(req.NumberOfAcceleratorDevicesRequired, `${at}.numberOfAcceleratorDevicesRequired`, 1);
    if (checks.required(req.MinMemoryRequiredInMb, `${at}.minMemoryRequiredInMb`)) {
      checks.integerAtLeast(req.MinMemoryRequiredInMb, `${at}.minMemoryRequiredInMb`, 128);
    }
    checks.integerAtLeast(req.MaxMemoryRequiredInMb, `${at}.maxMemoryRequiredInMb`, 128);
  }
}

function checkRuntimeConfig(checks: InputChecks, config: Wire<InferenceComponentRuntimeConfig> | undefined, path: string, required: boolean): void {
  if (config === undefined || config === null) {
    if (required) checks.required(config, path);
    return;
  }
  if (checks.required(config.CopyCount, `${path}.copyCount`)) checks.integerAtLeast(config.CopyCount, `${path}.copyCount`, 0);
}

function checkDeploymentConfig(checks: InputChecks, config: Wire<InferenceComponentDeploymentConfig> | undefined): void {
  if (!config) return;
  const path = 'deploymentConfig.rollingUpdatePolicy';
  if (!checks.required(config.RollingUpdatePolicy, path)) return;
  const policy = config.RollingUpdatePolicy!;
  for (const [member, size] of [
    ['maximumBatchSize', policy.MaximumBatchSize],
    ['rollbackMaximumBatchSize', policy.RollbackMaximumBatchSize],
  ] as const) {
    if (!size) {
      if (member === 'maximumBatchSize') checks.required(size, `${path}.${member}`);
      continue;
    }
    if (checks.required(size.Type, `${path}.${member}.type`)) checks.oneOf(size.Type, `${path}.${member}.type`, ['COPY_COUNT', 'CAPACITY_PERCENT']);
    if (checks.required(size.Value, `${path}.${member}.value`)) checks.integerAtLeast(size.Value, `${path}.${member}.value`, 1);
  }
  if (checks.required(policy.WaitIntervalInSeconds, `${path}.waitIntervalInSeconds`)) {
    checks.integerAtLeast(policy.WaitIntervalInSeconds, `${path}.waitIntervalInSeconds`, 0, 3600);
  }
  checks.integerAtLeast(policy.MaximumExecutionTimeoutInSeconds, `${path}.maximumExecutionTimeoutInSeconds`, 600, 28800);
}

/** What the local cloud cannot run, refused before anything is recorded. */
function checkSpecIsLocal(spec: Wire<InferenceComponentSpecification>): void {
  if (spec.BaseInferenceComponentName !== undefined) {
    throw validationError('Specification.BaseInferenceComponentName (adapter inference components) is not supported by the local cloud.');
  }
  if (spec.Container !== undefined) {
    throw validationError('Specification.Container is not supported by the local cloud; name a model with Specification.ModelName.');
  }
  if (!spec.ModelName) throw validationError("Specification.ModelName is required by the local cloud (it runs the model's container).");
  if (!spec.ComputeResourceRequirements) {
    throw validationError('Specification.ComputeResourceRequirements is required for inference components on an endpoint with instances.');
  }
}

function checkName(input: { InferenceComponentName?: string }): string {
  const checks = new InputChecks();
  checks.name(input.InferenceComponentName, 'inferenceComponentName', MODEL_NAME_PATTERN);
  checks.done();
  return input.InferenceComponentName!;
}

function requireComponent(name: string, { store, region }: Pick<OperationContext, 'store' | 'region'>): InferenceComponentRecord {
  const ic = store.inferenceComponents.get(name);
  if (!ic) throw validationError(notFoundMessage['inference-component'](sageMakerArn(region, 'inference-component', name)));
  return ic;
}

/** The model's container and the room a copy needs, checked against the variant's instance type. */
function resolveSpec(spec: InferenceComponentSpecification, endpoint: EndpointRecord, variantName: string, ctx: OperationContext) {
  const model = ctx.store.models.get(spec.ModelName!);
  if (!model) throw validationError(notFoundMessage.model(sageMakerArn(ctx.region, 'model', spec.ModelName!)));
  const variant = endpoint.deployed?.capacity?.find((v) => v.variantName === variantName);
  const size = instanceTypeSize(variant?.instanceType);
  if (size) {
    const over = exceedsInstance(copyRequirements({ Specification: spec }), size);
    if (over) {
      throw validationError(
        `The compute resource requirements of the inference component exceed what one ${variant!.instanceType} instance of production variant ${variantName} has: ${over}.`,
      );
    }
  }
  const container = servingContainer(model);
  return { Specification: spec, container: { image: container.Image!, environment: { ...container.Environment } } };
}

export const createInferenceComponent: Operation<CreateInferenceComponentInput, CreateInferenceComponentOutput> = (input, ctx) => {
  const checks = new InputChecks();
  checks.name(input.InferenceComponentName, 'inferenceComponentName', MODEL_NAME_PATTERN);
  checks.name(input.EndpointName, 'endpointName');
  if (input.VariantName !== undefined) checks.name(input.VariantName, 'variantName');
  if (input.Specifications !== undefined) checks.list(input.Specifications, 'specifications', { min: 1, max: 5 });
  else checkSpecification(checks, input.Specification, 'specification');
  checkRuntimeConfig(checks, input.RuntimeConfig, 'runtimeConfig', true);
  checks.tags(input.Tags, 'tags');
  checks.done();
  if (input.Specifications !== undefined)
    throw validationError('Specifications (several specifications per component) is not supported by the local cloud; use Specification.');
  const spec = input.Specification!;
  checkSpecIsLocal(spec);
  // AWS's wording (reported by users of CreateInferenceComponent); scale-to-zero comes later, by scaling in.
  if (input.RuntimeConfig!.CopyCount! < 1) throw validationError('Inference components copy count an integer larger than 0');

  const name = input.InferenceComponentName!;
  const arn = sageMakerArn(ctx.region, 'inference-component', name);
  if (ctx.store.inferenceComponents.get(name)) throw validationError(`Cannot create already existing inference component "${arn}".`);
  const endpoint = ctx.store.endpoints.get(input.EndpointName!);
  if (!endpoint) throw validationError(notFoundMessage.endpoint(sageMakerArn(ctx.region, 'endpoint', input.EndpointName!)));
  if (!isInferenceComponentEndpoint(endpoint)) {
    throw validationError('Inference Components are not supported in this Endpoint. Please make sure this endpoint can deploy inference components.');
  }
  if (endpoint.EndpointStatus !== 'InService') {
    throw validationError(
      `Cannot create inference component "${arn}" because endpoint "${endpoint.EndpointArn}" is not in service (status: ${endpoint.EndpointStatus}).`,
    );
  }
  const capacity = endpoint.deployed!.capacity!;
  const variant = input.VariantName ? capacity.find((v) => v.variantName === input.VariantName) : capacity[0];
  if (!variant) {
    throw validationError(`Variant "${input.VariantName}" of endpoint "${endpoint.EndpointArn}" does not exist or cannot host inference components.`);
  }
  const resolved = resolveSpec(spec as InferenceComponentSpecification, endpoint, variant.variantName, ctx);

  const now = Date.now();
  const ic: InferenceComponentRecord = {
    InferenceComponentName: name,
    InferenceComponentArn: arn,
    EndpointName: endpoint.EndpointName,
    EndpointArn: endpoint.EndpointArn,
    VariantName: variant.variantName,
    InferenceComponentStatus: 'Creating',
    CreationTime: now,
    LastModifiedTime: now,
    DesiredCopyCount: input.RuntimeConfig!.CopyCount!,
    ...resolved,
  };
  ctx.store.inferenceComponents.put(ic);
  putTags(ctx.store, arn, input.Tags);
  ctx.store.save();
  ctx.components.create(ic);
  return { InferenceComponentArn: arn };
};

export const describeInferenceComponent: Operation<DescribeInferenceComponentInput, DescribeInferenceComponentOutput> = (input, ctx) => {
  const ic = requireComponent(checkName(input), ctx);
  const current = ctx.components.router.copies(ic.InferenceComponentName).length;
  const endpoint = ctx.store.endpoints.get(ic.EndpointName);
  const instanceType = endpoint?.deployed?.capacity?.find((v) => v.variantName === ic.VariantName)?.instanceType;
  return {
    InferenceComponentName: ic.InferenceComponentName,
    InferenceComponentArn: ic.InferenceComponentArn,
    EndpointName: ic.EndpointName,
    EndpointArn: ic.EndpointArn,
    VariantName: ic.VariantName,
    FailureReason: ic.FailureReason,
    Specification: {
      ModelName: ic.Specification.ModelName,
      StartupParameters: ic.Specification.StartupParameters,
      ComputeResourceRequirements: ic.Specification.ComputeResourceRequirements,
    },
    RuntimeConfig: {
      DesiredCopyCount: ic.DesiredCopyCount,
      CurrentCopyCount: current,
      PlacementStatus: instanceType ? [{ InstanceType: instanceType as never, CurrentCopyCount: current }] : undefined,
    },
    CreationTime: new Date(ic.CreationTime),
    LastModifiedTime: new Date(ic.LastModifiedTime),
    InferenceComponentStatus: ic.InferenceComponentStatus,
    LastDeploymentConfig: ic.LastDeploymentConfig,
  };
};

export const listInferenceComponents: Operation<ListInferenceComponentsInput, ListInferenceComponentsOutput> = (input, { store }) => {
  const checks = new InputChecks();
  if (input.EndpointNameEquals !== undefined) checks.name(input.EndpointNameEquals, 'endpointNameEquals');
  if (input.VariantNameEquals !== undefined) checks.name(input.VariantNameEquals, 'variantNameEquals');
  checks.done();
  const endpoint = input.EndpointNameEquals?.toLowerCase();
  const variant = input.VariantNameEquals?.toLowerCase();
  const { page, NextToken } = listRecords(
    store.inferenceComponents
      .values()
      .filter(
        (ic) => (endpoint === undefined || ic.EndpointName.toLowerCase() === endpoint) && (variant === undefined || ic.VariantName.toLowerCase() === variant),
      )
      .map((ic) => ({ name: ic.InferenceComponentName, creationTime: ic.CreationTime, ic })),
    input,
    { statuses: STATUSES, statusOf: (r) => r.ic.InferenceComponentStatus, lastModifiedOf: (r) => r.ic.LastModifiedTime },
  );
  return {
    InferenceComponents: page.map(({ ic }) => ({
      CreationTime: new Date(ic.CreationTime),
      InferenceComponentArn: ic.InferenceComponentArn,
      InferenceComponentName: ic.InferenceComponentName,
      EndpointArn: ic.EndpointArn,
      EndpointName: ic.EndpointName,
      VariantName: ic.VariantName,
      InferenceComponentStatus: ic.InferenceComponentStatus,
      LastModifiedTime: new Date(ic.LastModifiedTime),
    })),
    NextToken,
  };
};

function requireUpdatable(ic: InferenceComponentRecord): void {
  if (ic.InferenceComponentStatus !== 'InService') {
    throw validationError(`Cannot update inference component "${ic.InferenceComponentArn}" while it is ${ic.InferenceComponentStatus}.`);
  }
}

/**
 * A new Specification is rolled out copy batch by copy batch (DeploymentConfig); a RuntimeConfig
 * alone changes the copy count. AutoRollbackConfiguration is recorded but not evaluated: the local
 * cloud has no CloudWatch alarms to watch; a copy that cannot start rolls the update back anyway.
 */
export const updateInferenceComponent: Operation<UpdateInferenceComponentInput, UpdateInferenceComponentOutput> = (input, ctx) => {
  const checks = new InputChecks();
  checks.name(input.InferenceComponentName, 'inferenceComponentName', MODEL_NAME_PATTERN);
  if (input.Specifications !== undefined) checks.list(input.Specifications, 'specifications', { min: 1, max: 5 });
  else if (input.Specification !== undefined) checkSpecification(checks, input.Specification, 'specification');
  checkRuntimeConfig(checks, input.RuntimeConfig, 'runtimeConfig', false);
  checkDeploymentConfig(checks, input.DeploymentConfig);
  checks.done();
  if (input.Specifications !== undefined)
    throw validationError('Specifications (several specifications per component) is not supported by the local cloud; use Specification.');
  const ic = requireComponent(input.InferenceComponentName!, ctx);
  requireUpdatable(ic);
  if (input.Specification) checkSpecIsLocal(input.Specification);
  const endpoint = ctx.store.endpoints.get(ic.EndpointName)!;
  const next = input.Specification ? resolveSpec(input.Specification as InferenceComponentSpecification, endpoint, ic.VariantName, ctx) : undefined;
  Object.assign(ic, {
    InferenceComponentStatus: 'Updating',
    LastModifiedTime: Date.now(),
    FailureReason: undefined,
    DesiredCopyCount: input.RuntimeConfig?.CopyCount ?? ic.DesiredCopyCount,
    LastDeploymentConfig: (input.DeploymentConfig as InferenceComponentDeploymentConfig | undefined) ?? ic.LastDeploymentConfig,
  } satisfies Partial<InferenceComponentRecord>);
  ctx.store.save();
  if (next) ctx.components.rollingUpdate(ic, next);
  else ctx.components.scale(ic);
  return { InferenceComponentArn: ic.InferenceComponentArn };
};

export const updateInferenceComponentRuntimeConfig: Operation<UpdateInferenceComponentRuntimeConfigInput, UpdateInferenceComponentRuntimeConfigOutput> = (
  input,
  ctx,
) => {
  const checks = new InputChecks();
  checks.name(input.InferenceComponentName, 'inferenceComponentName', MODEL_NAME_PATTERN);
  checkRuntimeConfig(checks, input.DesiredRuntimeConfig, 'desiredRuntimeConfig', true);
  checks.done();
  const ic = requireComponent(input.InferenceComponentName!, ctx);
  requireUpdatable(ic);
  Object.assign(ic, {
    InferenceComponentStatus: 'Updating',
    LastModifiedTime: Date.now(),
    FailureReason: undefined,
    DesiredCopyCount: input.DesiredRuntimeConfig!.CopyCount!,
  } satisfies Partial<InferenceComponentRecord>);
  ctx.store.save();
  ctx.components.scale(ic);
  return { InferenceComponentArn: ic.InferenceComponentArn };
};

export const deleteInferenceComponent: Operation<DeleteInferenceComponentInput, object> = (input, ctx) => {
  const ic = requireComponent(checkName(input), ctx);
  if (ic.InferenceComponentStatus !== 'Deleting') ctx.components.delete(ic);
  return {};
};
