// CreateEndpointConfig / DescribeEndpointConfig / DeleteEndpointConfig / ListEndpointConfigs.
// A config names, per production variant, the model and how many instances run it. Variants
// without ModelName are the inference-component kind (capacity only; components bring models).
import type {
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
  checks.tags(input.Tags, 'tags');
  checks.done();

  const variants = input.ProductionVariants!;
  const seen = new Set<string>();
  for (const v of variants) {
    const key = v.VariantName!.toLowerCase();
    if (seen.has(key)) throw validationError(`The VariantName "${v.VariantName}" appears more than once in ProductionVariants.`);
    seen.add(key);
    if (!v.ServerlessConfig && (v.InstanceType === undefined || v.InitialInstanceCount === undefined)) {
      throw validationError(
        `Production variant "${v.VariantName}" needs InstanceType and InitialInstanceCount, or a ServerlessConfig.`,
      );
    }
  }

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
    AsyncInferenceConfig: input.AsyncInferenceConfig,
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
  ctx.store.endpointConfigs.delete(config.EndpointConfigName);
  ctx.store.tags.delete(config.EndpointConfigArn);
  ctx.store.save();
  return {};
};

export const listEndpointConfigs: Operation<ListEndpointConfigsInput, ListEndpointConfigsOutput> = (input, { store }) => {
  const { page, NextToken } = listRecords(
    store.endpointConfigs.values().map((c) => ({ name: c.EndpointConfigName, creationTime: c.CreationTime, c })),
    input,
    { sortKeys: { Name: (r) => r.name, CreationTime: (r) => r.creationTime } },
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
