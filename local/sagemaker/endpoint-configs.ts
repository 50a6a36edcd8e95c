// CreateEndpointConfig / DescribeEndpointConfig / DeleteEndpointConfig / ListEndpointConfigs.
// A config names, per production variant, the model and how many instances run it. Variants
// without ModelName are the inference-component kind (capacity only; components bring models).
import type {
  AsyncInferenceConfig,
  CreateEndpointConfigInput,
  CreateEndpointConfigOutput,
  DeleteEndpointConfigInput,
  DescribeEndpointConfigInput,
  DescribeEndpointConfigOutput,
  ListEndpointConfigsInput,
  ListEndpointConfigsOutput,
  ProductionVariant,
} from '@aws-sdk/client-sagemaker';
import type { Operation, OperationContext } from './context.js';
import { listRecords } from './listing.js';
import { validationError, type Wire } from './protocol.js';
import { sageMakerArn, type EndpointConfigRecord } from './store.js';
import { notFoundMessage, putTags } from './tags.js';
import { InputChecks, MODEL_NAME_PATTERN, ROLE_ARN_PATTERN } from './validation.js';

function checkVariant(checks: InputChecks, v: Wire<ProductionVariant>, path: string): void {
  checks.name(v.VariantName, `${path}.variantName`);
  if (v.ModelName !== undefined) checks.name(v.ModelName, `${path}.modelName`, MODEL_NAME_PATTERN);
  checks.integerAtLeast(v.InitialInstanceCount, `${path}.initialInstanceCount`, 1);
  checks.numberAtLeast(v.InitialVariantWeight, `${path}.initialVariantWeight`, 0);
  checks.integerAtLeast(v.ContainerStartupHealthCheckTimeoutInSeconds, `${path}.containerStartupHealthCheckTimeoutInSeconds`, 60, 3600);
  checks.integerAtLeast(v.ModelDataDownloadTimeoutInSeconds, `${path}.modelDataDownloadTimeoutInSeconds`, 60, 3600);
  checks.optionalString(v.InstanceType, `${path}.instanceType`);
  const scaling = v.ManagedInstanceScaling;
  if (scaling) {
    checks.oneOf(scaling.Status, `${path}.managedInstanceScaling.status`, ['ENABLED', 'DISABLED']);
    checks.integerAtLeast(scaling.MinInstanceCount, `${path}.managedInstanceScaling.minInstanceCount`, 0);
    checks.integerAtLeast(scaling.MaxInstanceCount, `${path}.managedInstanceScaling.maxInstanceCount`, 1);
  }
  if (v.RoutingConfig && checks.required(v.RoutingConfig.RoutingStrategy, `${path}.routingConfig.routingStrategy`)) {
    checks.oneOf(v.RoutingConfig.RoutingStrategy, `${path}.routingConfig.routingStrategy`, [
      'LEAST_OUTSTANDING_REQUESTS',
      'RANDOM',
      'PREFIX_AWARE',
      'KV_AWARE',
    ]);
  }
}

/** Inference-component variants (no ModelName): what AWS allows there and the local cloud can run. */
function checkCapacityVariants(variants: Wire<ProductionVariant>[]): void {
  const capacity = variants.filter((v) => !v.ModelName);
  for (const v of variants) {
    if (v.ModelName && v.ManagedInstanceScaling) throw validationError('ManagedInstanceScaling is only supported for inference component endpoints.');
  }
  if (capacity.length === 0) return;
  if (capacity.length !== variants.length) {
    throw validationError('An endpoint configuration for inference components cannot also have production variants with a ModelName.');
  }
  for (const v of capacity) {
    if (v.ServerlessConfig)
      throw validationError(`Production variant "${v.VariantName}" has no ModelName: inference components need instances, not a ServerlessConfig.`);
    const scaling = v.ManagedInstanceScaling;
    if (scaling?.MinInstanceCount !== undefined && scaling.MaxInstanceCount !== undefined && scaling.MinInstanceCount > scaling.MaxInstanceCount) {
      throw validationError(`ManagedInstanceScaling of production variant "${v.VariantName}": MinInstanceCount must not be greater than MaxInstanceCount.`);
    }
    const strategy = v.RoutingConfig?.RoutingStrategy;
    if (strategy && strategy !== 'LEAST_OUTSTANDING_REQUESTS' && strategy !== 'RANDOM') {
      throw validationError(`RoutingStrategy ${strategy} is not supported by the local cloud (LEAST_OUTSTANDING_REQUESTS or RANDOM).`);
    }
  }
}

const DESTINATION_S3_URI_PATTERN = '(https|s3)://([^/])/?(.*)';
const SNS_TOPIC_ARN_PATTERN = 'arn:aws[a-z\\-]*:sns:[a-z0-9\\-]*:[0-9]{12}:[a-zA-Z0-9_.-]+';

/**
 * AsyncInferenceConfig as botocore constrains it, plus what the local cloud needs: an s3://
 * S3OutputPath (AWS would fall back to a default bucket the local cloud does not have).
 * NotificationConfig is accepted and echoed; no SNS notification is sent.
 */
function checkAsyncConfig(checks: InputChecks, config: Wire<AsyncInferenceConfig> | undefined): void {
  if (config === undefined || config === null) return;
  const path = 'asyncInferenceConfig';
  checks.integerAtLeast(config.ClientConfig?.MaxConcurrentInvocationsPerInstance, `${path}.clientConfig.maxConcurrentInvocationsPerInstance`, 1, 1000);
  if (!checks.required(config.OutputConfig, `${path}.outputConfig`)) return;
  const output = config.OutputConfig!;
  for (const key of ['S3OutputPath', 'S3FailurePath'] as const) {
    const at = `${path}.outputConfig.${key === 'S3OutputPath' ? 's3OutputPath' : 's3FailurePath'}`;
    if (checks.optionalString(output[key], at)) {
      checks.maxLength(output[key]!, at, 512);
      checks.pattern(output[key]!, at, DESTINATION_S3_URI_PATTERN);
    }
  }
  if (checks.optionalString(output.KmsKeyId, `${path}.outputConfig.kmsKeyId`)) checks.maxLength(output.KmsKeyId, `${path}.outputConfig.kmsKeyId`, 2048);
  const notification = output.NotificationConfig;
  if (notification) {
    for (const key of ['SuccessTopic', 'ErrorTopic'] as const) {
      const at = `${path}.outputConfig.notificationConfig.${key === 'SuccessTopic' ? 'successTopic' : 'errorTopic'}`;
      if (checks.optionalString(notification[key], at)) checks.pattern(notification[key]!, at, SNS_TOPIC_ARN_PATTERN);
    }
    const include = notification.IncludeInferenceResponseIn;
    if (checks.list(include, `${path}.outputConfig.notificationConfig.includeInferenceResponseIn`, { max: 2 })) {
      include!.forEach((v, i) =>
        checks.oneOf(v, `${path}.outputConfig.notificationConfig.includeInferenceResponseIn.${i + 1}.member`, [
          'SUCCESS_NOTIFICATION_TOPIC',
          'ERROR_NOTIFICATION_TOPIC',
        ]),
      );
    }
  }
}

function checkAsyncConfigIsLocal(config: Wire<AsyncInferenceConfig> | undefined): void {
  if (!config) return;
  const { S3OutputPath, S3FailurePath } = config.OutputConfig ?? {};
  if (!S3OutputPath) {
    throw validationError(
      'AsyncInferenceConfig.OutputConfig.S3OutputPath is required by the local cloud, which has no default bucket for asynchronous inference results.',
    );
  }
  for (const uri of [S3OutputPath, S3FailurePath]) {
    if (uri && !uri.startsWith('s3://')) throw validationError(`The S3 URI "${uri}" is not supported by the local cloud (only s3:// URIs).`);
  }
}

export const createEndpointConfig: Operation<CreateEndpointConfigInput, CreateEndpointConfigOutput> = async (input, ctx) => {
  const { region, store, verifyRole } = ctx;
  const checks = new InputChecks();
  checks.name(input.EndpointConfigName, 'endpointConfigName');
  if (checks.list(input.ProductionVariants, 'productionVariants', { required: true, min: 1, max: 10 })) {
    input.ProductionVariants!.forEach((v, i) => checkVariant(checks, v, `productionVariants.${i + 1}.member`));
  }
  if (checks.optionalString(input.ExecutionRoleArn, 'executionRoleArn')) {
    checks.pattern(input.ExecutionRoleArn, 'executionRoleArn', ROLE_ARN_PATTERN);
  }
  checkAsyncConfig(checks, input.AsyncInferenceConfig);
  checks.tags(input.Tags, 'tags');
  checks.done();
  checkAsyncConfigIsLocal(input.AsyncInferenceConfig);

  const variants = input.ProductionVariants!;
  const seen = new Set<string>();
  for (const v of variants) {
    const key = v.VariantName!.toLowerCase();
    if (seen.has(key)) throw validationError(`The VariantName "${v.VariantName}" appears more than once in ProductionVariants.`);
    seen.add(key);
    if (!v.ServerlessConfig && (v.InstanceType === undefined || v.InitialInstanceCount === undefined)) {
      throw validationError(`Production variant "${v.VariantName}" needs InstanceType and InitialInstanceCount, or a ServerlessConfig.`);
    }
  }

  checkCapacityVariants(variants);

  const name = input.EndpointConfigName!;
  const arn = sageMakerArn(region, 'endpoint-config', name);
  const exists = () => {
    if (store.endpointConfigs.get(name)) throw validationError(`Cannot create already existing endpoint configuration "${arn}".`);
  };
  exists();
  for (const v of variants) {
    if (v.ModelName && !store.models.get(v.ModelName)) {
      throw validationError(notFoundMessage.model(sageMakerArn(region, 'model', v.ModelName)));
    }
  }
  if (variants.some((v) => !v.ModelName) && !input.ExecutionRoleArn) {
    throw validationError('ExecutionRoleArn is required when a production variant has no ModelName (inference component based endpoint).');
  }
  if (input.ExecutionRoleArn) await verifyRole(input.ExecutionRoleArn);
  exists();

  store.endpointConfigs.put({
    EndpointConfigName: name,
    EndpointConfigArn: arn,
    CreationTime: Date.now(),
    ProductionVariants: variants as ProductionVariant[],
    DataCaptureConfig: input.DataCaptureConfig,
    KmsKeyId: input.KmsKeyId,
    AsyncInferenceConfig: input.AsyncInferenceConfig as AsyncInferenceConfig | undefined,
    ExecutionRoleArn: input.ExecutionRoleArn,
    VpcConfig: input.VpcConfig,
    EnableNetworkIsolation: input.EnableNetworkIsolation,
  });
  putTags(store, arn, input.Tags);
  store.save();
  return { EndpointConfigArn: arn };
};

/** The config by name, or AWS's "Could not find endpoint configuration" error. */
export function requireEndpointConfig(name: string, { store, region }: Pick<OperationContext, 'store' | 'region'>): EndpointConfigRecord {
  const config = store.endpointConfigs.get(name);
  if (!config) throw validationError(notFoundMessage['endpoint-config'](sageMakerArn(region, 'endpoint-config', name)));
  return config;
}

function checkedName(input: { EndpointConfigName?: string }): string {
  const checks = new InputChecks();
  checks.name(input.EndpointConfigName, 'endpointConfigName');
  checks.done();
  return input.EndpointConfigName!;
}

export const describeEndpointConfig: Operation<DescribeEndpointConfigInput, DescribeEndpointConfigOutput> = (input, ctx) => {
  const { CreationTime, ...config } = requireEndpointConfig(checkedName(input), ctx);
  return { ...config, CreationTime: new Date(CreationTime) };
};

/** Like AWS, deleting a config an endpoint still uses is allowed: the endpoint keeps running. */
export const deleteEndpointConfig: Operation<DeleteEndpointConfigInput, object> = (input, ctx) => {
  const config = requireEndpointConfig(checkedName(input), ctx);
  ctx.store.remove(ctx.store.endpointConfigs, config.EndpointConfigName, config.EndpointConfigArn);
  return {};
};

export const listEndpointConfigs: Operation<ListEndpointConfigsInput, ListEndpointConfigsOutput> = (input, { store }) => {
  const { page, NextToken } = listRecords(
    store.endpointConfigs.values().map((c) => ({ name: c.EndpointConfigName, creationTime: c.CreationTime, c })),
    input,
  );
  return {
    EndpointConfigs: page.map(({ c }) => ({
      EndpointConfigName: c.EndpointConfigName,
      EndpointConfigArn: c.EndpointConfigArn,
      CreationTime: new Date(c.CreationTime),
    })),
    NextToken,
  };
};
