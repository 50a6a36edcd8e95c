// CreateModel / DescribeModel / DeleteModel / ListModels.
// A model is a record of which container image and environment to run; nothing starts until an
// endpoint uses it. Only the first container is ever launched (PrimaryContainer, or the first of
// Containers): inference pipelines are not emulated.
import type {
  ContainerDefinition,
  CreateModelInput,
  CreateModelOutput,
  DeleteModelInput,
  DescribeModelInput,
  DescribeModelOutput,
  ListModelsInput,
  ListModelsOutput,
} from '@aws-sdk/client-sagemaker';
import { hostRuntimeVariableMessage, isHostRuntimeVariable } from '../model-server/process-env.js';
import type { Operation, OperationContext } from './context.js';
import { listRecords } from './listing.js';
import { AwsServiceError, validationError, type Wire } from './protocol.js';
import { sageMakerArn, type ModelRecord } from './store.js';
import { notFoundMessage, putTags } from './tags.js';
import { InputChecks, MODEL_NAME_PATTERN, ROLE_ARN_PATTERN } from './validation.js';

/** The container a model's endpoint processes stand in for. */
export function servingContainer(model: ModelRecord): ContainerDefinition {
  return (model.PrimaryContainer ?? model.Containers?.[0])!;
}

function checkContainer(checks: InputChecks, container: Wire<ContainerDefinition>, path: string): void {
  if (checks.optionalString(container.Image, `${path}.image`)) {
    checks.maxLength(container.Image, `${path}.image`, 255);
    checks.pattern(container.Image, `${path}.image`, '[\\S]+');
  } else if (container.ModelPackageName !== undefined) {
    throw new AwsServiceError(
      'ValidationException',
      `${path}.modelPackageName: model packages are not supported by the local cloud; give the container an Image.`,
    );
  } else {
    checks.required(container.Image, `${path}.image`);
  }
  const env = container.Environment;
  if (env !== undefined) {
    const entries = Object.entries(env);
    if (entries.length > 100) checks.maxLength(entries, `${path}.environment`, 100);
    for (const [key, value] of entries) {
      checks.maxLength(key, `${path}.environment`, 1024);
      checks.pattern(key, `${path}.environment`, '[a-zA-Z_][a-zA-Z0-9_]*');
      if (checks.requiredString(value, `${path}.environment.${key}`)) checks.maxLength(value, `${path}.environment.${key}`, 1024);
    }
  }
}

/** Local difference: names that would change how the host runs the model process (process-env.ts). */
export function refuseHostRuntimeVariables(env: Record<string, unknown> | undefined | null, path: string): void {
  const name = Object.keys(env ?? {}).find(isHostRuntimeVariable);
  if (name !== undefined) throw validationError(hostRuntimeVariableMessage(path, name));
}

export const createModel: Operation<CreateModelInput, CreateModelOutput> = async (input, { region, store, verifyRole }) => {
  const checks = new InputChecks();
  checks.name(input.ModelName, 'modelName', MODEL_NAME_PATTERN);
  if (input.PrimaryContainer) checkContainer(checks, input.PrimaryContainer, 'primaryContainer');
  if (checks.list(input.Containers, 'containers', { max: 15 })) {
    input.Containers!.forEach((c, i) => checkContainer(checks, c, `containers.${i + 1}.member`));
  }
  if (checks.optionalString(input.ExecutionRoleArn, 'executionRoleArn')) {
    checks.minLength(input.ExecutionRoleArn, 'executionRoleArn', 20);
    checks.maxLength(input.ExecutionRoleArn, 'executionRoleArn', 2048);
    checks.pattern(input.ExecutionRoleArn, 'executionRoleArn', ROLE_ARN_PATTERN);
  }
  checks.tags(input.Tags, 'tags');
  checks.done();
  refuseHostRuntimeVariables(input.PrimaryContainer?.Environment, 'primaryContainer.environment');
  input.Containers?.forEach((c, i) => refuseHostRuntimeVariables(c.Environment, `containers.${i + 1}.member.environment`));
  if (!input.PrimaryContainer && !input.Containers?.length) {
    throw validationError('Either PrimaryContainer or Containers must be specified.');
  }

  const name = input.ModelName!;
  const arn = sageMakerArn(region, 'model', name);
  if (store.models.get(name)) throw validationError(`Cannot create already existing model "${arn}".`);
  if (input.ExecutionRoleArn) await verifyRole(input.ExecutionRoleArn);
  // Checked again after the await: a concurrent CreateModel of the same name may have won.
  if (store.models.get(name)) throw validationError(`Cannot create already existing model "${arn}".`);

  store.models.put({
    ModelName: name,
    ModelArn: arn,
    CreationTime: Date.now(),
    PrimaryContainer: input.PrimaryContainer,
    Containers: input.Containers,
    InferenceExecutionConfig: input.InferenceExecutionConfig,
    ExecutionRoleArn: input.ExecutionRoleArn,
    VpcConfig: input.VpcConfig,
    EnableNetworkIsolation: input.EnableNetworkIsolation,
  });
  putTags(store, arn, input.Tags);
  store.save();
  return { ModelArn: arn };
};

function requireModel(input: { ModelName?: string }, ctx: OperationContext): ModelRecord {
  const checks = new InputChecks();
  checks.name(input.ModelName, 'modelName', MODEL_NAME_PATTERN);
  checks.done();
  const model = ctx.store.models.get(input.ModelName!);
  if (!model) throw validationError(notFoundMessage.model(sageMakerArn(ctx.region, 'model', input.ModelName!)));
  return model;
}

export const describeModel: Operation<DescribeModelInput, DescribeModelOutput> = (input, ctx) => {
  const { CreationTime, ...model } = requireModel(input, ctx);
  return { ...model, CreationTime: new Date(CreationTime) };
};

export const deleteModel: Operation<DeleteModelInput, object> = (input, ctx) => {
  const model = requireModel(input, ctx);
  ctx.store.remove(ctx.store.models, model.ModelName, model.ModelArn);
  return {};
};

export const listModels: Operation<ListModelsInput, ListModelsOutput> = (input, { store }) => {
  const { page, NextToken } = listRecords(
    store.models.values().map((m) => ({ name: m.ModelName, creationTime: m.CreationTime, m })),
    input,
  );
  return {
    Models: page.map(({ m }) => ({ ModelName: m.ModelName, ModelArn: m.ModelArn, CreationTime: new Date(m.CreationTime) })),
    NextToken,
  };
};
