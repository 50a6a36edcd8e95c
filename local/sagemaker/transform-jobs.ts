// CreateTransformJob / DescribeTransformJob / StopTransformJob / ListTransformJobs.
// These validate, record and return at once, as AWS does; transform-runner.ts does the work.
// What a job reads and the defaults it runs with are in transform-inputs.ts.
//
// Accepted but not applied: DataProcessing (input/output filters, joining the input), DataCaptureConfig,
// ExperimentConfig, KMS keys. Refused with a ValidationException because the local cloud cannot
// honour them: AugmentedManifestFile/Converse inputs, RecordIO/TFRecord splitting, https:// URIs.
import {
  AssemblyType,
  BatchStrategy,
  CompressionType,
  JoinSource,
  S3DataType,
  SplitType,
  TransformInstanceType,
  TransformJobStatus,
  type CreateTransformJobRequest,
  type CreateTransformJobResponse,
  type DescribeTransformJobRequest,
  type DescribeTransformJobResponse,
  type ListTransformJobsRequest,
  type ListTransformJobsResponse,
  type StopTransformJobRequest,
  type TransformInput,
  type TransformOutput,
  type TransformResources,
} from '@aws-sdk/client-sagemaker';
import type { Operation, OperationContext } from './context.js';
import { checkInstanceQuota } from './instance-quota.js';
import { listRecords } from './listing.js';
import { refuseHostRuntimeVariables, servingContainer } from './models.js';
import { AwsServiceError, validationError, type Wire } from './protocol.js';
import { sageMakerArn, type TransformJobRecord } from './store.js';
import { notFoundMessage, putTags } from './tags.js';
import { listTransformInputs, NoTransformInputError, TRANSFORM_DEFAULTS } from './transform-inputs.js';
import { InputChecks, MODEL_NAME_PATTERN } from './validation.js';

const S3_URI_PATTERN = '(https|s3)://([^/]+)/?(.*)';
/** AWS: MaxPayloadInMB at most 100, and MaxConcurrentTransforms × MaxPayloadInMB at most 100 too. */
const MAX_PAYLOAD_TOTAL_MB = 100;

function checkS3Uri(checks: InputChecks, value: unknown, path: string): void {
  if (!checks.requiredString(value, path)) return;
  checks.maxLength(value, path, 1024);
  checks.pattern(value, path, S3_URI_PATTERN);
}

function checkInput(checks: InputChecks, input: Wire<TransformInput> | undefined): void {
  if (!checks.required(input, 'transformInput')) return;
  const source = input!.DataSource;
  if (checks.required(source, 'transformInput.dataSource') && checks.required(source!.S3DataSource, 'transformInput.dataSource.s3DataSource')) {
    const s3 = source!.S3DataSource!;
    if (checks.required(s3.S3DataType, 'transformInput.dataSource.s3DataSource.s3DataType')) {
      checks.oneOf(s3.S3DataType, 'transformInput.dataSource.s3DataSource.s3DataType', Object.values(S3DataType));
    }
    checkS3Uri(checks, s3.S3Uri, 'transformInput.dataSource.s3DataSource.s3Uri');
  }
  if (checks.optionalString(input!.ContentType, 'transformInput.contentType')) checks.maxLength(input!.ContentType, 'transformInput.contentType', 256);
  checks.oneOf(input!.CompressionType, 'transformInput.compressionType', Object.values(CompressionType));
  checks.oneOf(input!.SplitType, 'transformInput.splitType', Object.values(SplitType));
}

function checkOutput(checks: InputChecks, output: Wire<TransformOutput> | undefined): void {
  if (!checks.required(output, 'transformOutput')) return;
  checkS3Uri(checks, output!.S3OutputPath, 'transformOutput.s3OutputPath');
  if (checks.optionalString(output!.Accept, 'transformOutput.accept')) checks.maxLength(output!.Accept, 'transformOutput.accept', 256);
  checks.oneOf(output!.AssembleWith, 'transformOutput.assembleWith', Object.values(AssemblyType));
}

function checkResources(checks: InputChecks, resources: Wire<TransformResources> | undefined): void {
  if (!checks.required(resources, 'transformResources')) return;
  if (checks.required(resources!.InstanceType, 'transformResources.instanceType')) {
    checks.oneOf(resources!.InstanceType, 'transformResources.instanceType', Object.values(TransformInstanceType));
  }
  if (checks.required(resources!.InstanceCount, 'transformResources.instanceCount')) {
    checks.integerAtLeast(resources!.InstanceCount, 'transformResources.instanceCount', 1);
  }
}

function checkCreate(input: Wire<CreateTransformJobRequest>): void {
  const checks = new InputChecks();
  checks.name(input.TransformJobName, 'transformJobName');
  checks.name(input.ModelName, 'modelName', MODEL_NAME_PATTERN);
  checks.integerAtLeast(input.MaxConcurrentTransforms, 'maxConcurrentTransforms', 0);
  checks.integerAtLeast(input.MaxPayloadInMB, 'maxPayloadInMB', 0);
  checks.oneOf(input.BatchStrategy, 'batchStrategy', Object.values(BatchStrategy));
  if (input.ModelClientConfig) {
    checks.integerAtLeast(input.ModelClientConfig.InvocationsTimeoutInSeconds, 'modelClientConfig.invocationsTimeoutInSeconds', 1, 3600);
    checks.integerAtLeast(input.ModelClientConfig.InvocationsMaxRetries, 'modelClientConfig.invocationsMaxRetries', 0, 3);
  }
  const env = input.Environment;
  if (env !== undefined && env !== null) {
    const entries = Object.entries(env);
    checks.maxLength(entries, 'environment', 16);
    for (const [key, value] of entries) {
      checks.maxLength(key, 'environment', 1024);
      checks.pattern(key, 'environment', '[a-zA-Z_][a-zA-Z0-9_]{0,1023}');
      if (checks.requiredString(value, `environment.${key}`)) checks.maxLength(value, `environment.${key}`, 10240);
    }
  }
  checkInput(checks, input.TransformInput);
  checkOutput(checks, input.TransformOutput);
  checkResources(checks, input.TransformResources);
  if (input.DataProcessing) {
    checks.oneOf(input.DataProcessing.JoinSource, 'dataProcessing.joinSource', Object.values(JoinSource));
    for (const key of ['InputFilter', 'OutputFilter'] as const) {
      const value = input.DataProcessing[key];
      if (checks.optionalString(value, `dataProcessing.${key[0].toLowerCase()}${key.slice(1)}`)) {
        checks.maxLength(value, `dataProcessing.${key[0].toLowerCase()}${key.slice(1)}`, 63);
      }
    }
  }
  checks.tags(input.Tags, 'tags');
  checks.done();
  refuseHostRuntimeVariables(input.Environment, 'environment');

  const payload = input.MaxPayloadInMB ?? TRANSFORM_DEFAULTS.MaxPayloadInMB;
  if (payload > MAX_PAYLOAD_TOTAL_MB) throw validationError(`MaxPayloadInMB must be less than or equal to ${MAX_PAYLOAD_TOTAL_MB} MB.`);
  const concurrent = input.MaxConcurrentTransforms || TRANSFORM_DEFAULTS.MaxConcurrentTransforms;
  if (concurrent * payload > MAX_PAYLOAD_TOTAL_MB) {
    throw validationError(
      `The value of MaxConcurrentTransforms (${concurrent}) multiplied by MaxPayloadInMB (${payload}) must not exceed ${MAX_PAYLOAD_TOTAL_MB} MB.`,
    );
  }
  // What the local cloud cannot do: refused up front rather than done differently.
  const s3 = input.TransformInput!.DataSource!.S3DataSource!;
  const unsupported = (what: string) => new AwsServiceError('ValidationException', `${what} is not supported by the local cloud.`);
  if (s3.S3DataType !== 'S3Prefix' && s3.S3DataType !== 'ManifestFile') throw unsupported(`S3DataType ${s3.S3DataType}`);
  const split = input.TransformInput!.SplitType;
  if (split === 'RecordIO' || split === 'TFRecord') throw unsupported(`SplitType ${split}`);
  for (const uri of [s3.S3Uri!, input.TransformOutput!.S3OutputPath!]) {
    if (!uri.startsWith('s3://')) throw unsupported(`The S3 URI "${uri}" (only s3:// URIs)`);
  }
}

function arnOf(region: string, name: string): string {
  return sageMakerArn(region, 'transform-job', name);
}

function requireJob(input: { TransformJobName?: string }, ctx: OperationContext): TransformJobRecord {
  const checks = new InputChecks();
  checks.name(input.TransformJobName, 'transformJobName');
  checks.done();
  const job = ctx.store.transformJobs.get(input.TransformJobName!);
  if (!job) throw validationError(`Could not find requested job with name ${input.TransformJobName}`);
  return job;
}

export const createTransformJob: Operation<CreateTransformJobRequest, CreateTransformJobResponse> = async (input, ctx) => {
  const { region, store } = ctx;
  checkCreate(input);
  const name = input.TransformJobName!;
  const arn = arnOf(region, name);
  const exists = () => {
    if (store.transformJobs.get(name)) {
      throw new AwsServiceError(
        'ResourceInUse',
        `Job name must be unique within an AWS account and region, and a job with this name already exists (${store.transformJobs.get(name)!.TransformJobArn})`,
      );
    }
  };
  exists();
  const model = store.models.get(input.ModelName!);
  if (!model) throw validationError(notFoundMessage.model(sageMakerArn(region, 'model', input.ModelName!)));
  const container = servingContainer(model);

  const transformInput = input.TransformInput as TransformInput;
  try {
    // AWS checks the input prefix at create time; one object is enough to know it is not empty.
    await listTransformInputs(ctx.s3(), transformInput, { region, roleArn: model.ExecutionRoleArn }, 1);
  } catch (err) {
    if (err instanceof NoTransformInputError) throw validationError(err.message);
    throw err;
  }
  exists(); // again: a concurrent create of the same name may have won while S3 answered
  const resources = input.TransformResources!;
  checkInstanceQuota(store, 'transform job', [{ instanceType: resources.InstanceType, instanceCount: resources.InstanceCount ?? 1 }]);

  const now = Date.now();
  const job: TransformJobRecord = {
    TransformJobName: name,
    TransformJobArn: arn,
    TransformJobStatus: 'InProgress',
    ModelName: model.ModelName,
    MaxConcurrentTransforms: input.MaxConcurrentTransforms || TRANSFORM_DEFAULTS.MaxConcurrentTransforms,
    MaxPayloadInMB: input.MaxPayloadInMB ?? TRANSFORM_DEFAULTS.MaxPayloadInMB,
    BatchStrategy: input.BatchStrategy ?? TRANSFORM_DEFAULTS.BatchStrategy,
    ModelClientConfig: input.ModelClientConfig,
    Environment: input.Environment,
    TransformInput: transformInput,
    TransformOutput: input.TransformOutput as TransformOutput,
    TransformResources: input.TransformResources as TransformResources,
    DataCaptureConfig: input.DataCaptureConfig,
    DataProcessing: input.DataProcessing,
    ExperimentConfig: input.ExperimentConfig,
    CreationTime: now,
    LastModifiedTime: now,
    container: { image: container.Image!, environment: { ...container.Environment, ...input.Environment } },
  };
  store.transformJobs.put(job);
  putTags(store, arn, input.Tags);
  store.save();
  ctx.transformJobs.start(job);
  return { TransformJobArn: arn };
};

const date = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));

export const describeTransformJob: Operation<DescribeTransformJobRequest, DescribeTransformJobResponse> = (input, ctx) => {
  const { container: _container, CreationTime, TransformStartTime, TransformEndTime, LastModifiedTime: _modified, ...job } = requireJob(input, ctx);
  return {
    ...job,
    CreationTime: new Date(CreationTime),
    TransformStartTime: date(TransformStartTime),
    TransformEndTime: date(TransformEndTime),
  };
};

export const stopTransformJob: Operation<StopTransformJobRequest, object> = (input, ctx) => {
  const job = requireJob(input, ctx);
  if (job.TransformJobStatus === 'InProgress') ctx.transformJobs.stop(job);
  else if (job.TransformJobStatus !== 'Stopping') {
    throw validationError(`The request was rejected because the transform job is in status ${job.TransformJobStatus}.`);
  }
  return {};
};

export const listTransformJobs: Operation<ListTransformJobsRequest, ListTransformJobsResponse> = (input, { store }) => {
  const { page, NextToken } = listRecords(
    store.transformJobs.values().map((j) => ({ name: j.TransformJobName, creationTime: j.CreationTime, j })),
    input,
    { statuses: Object.values(TransformJobStatus), statusOf: (r) => r.j.TransformJobStatus, lastModifiedOf: (r) => r.j.LastModifiedTime },
  );
  return {
    TransformJobSummaries: page.map(({ j }) => ({
      TransformJobName: j.TransformJobName,
      TransformJobArn: j.TransformJobArn,
      CreationTime: new Date(j.CreationTime),
      TransformEndTime: date(j.TransformEndTime),
      LastModifiedTime: new Date(j.LastModifiedTime),
      TransformJobStatus: j.TransformJobStatus,
      FailureReason: j.FailureReason,
    })),
    NextToken,
  };
};
