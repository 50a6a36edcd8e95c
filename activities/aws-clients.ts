// One AWS SDK v3 client per service per worker. Credentials come from the standard chain; the
// endpoint from AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>, which the SDK reads itself, so the
// same code talks to AWS or to the local cloud. The region is AWS_REGION, else AWS_DEFAULT_REGION
// (which the JS SDK alone would ignore), else the profile's (AWS_PROFILE) `region` as the SDK
// resolves it, else a clear error naming those variables: never a silent us-east-1. The local
// cloud's stack sets AWS_REGION itself. Each call is traced (a span under the caller's, e.g. the
// activity's) when tracing is set up (common/tracing.ts).
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsConfig, ConfigError } from '../common/config.js';
import { traceAwsSdkCalls } from '../common/tracing.js';

export interface AwsClients {
  sagemaker: SageMakerClient;
  runtime: SageMakerRuntimeClient;
  iam: IAMClient;
  autoscaling: ApplicationAutoScalingClient;
  s3: S3Client;
  /** Reads the endpoint's Invocations metric for the idle guard. */
  cloudwatch: CloudWatchClient;
  /** Resolves model.hfTokenSecret.secretId (the local cloud serves it through moto). */
  secretsManager: SecretsManagerClient;
}

export interface AwsClientOptions {
  region?: string;
  /** Overrides AWS_ENDPOINT_URL for every client (tests point this at their own local cloud). */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * The region the SDK's own chain finds (AWS_REGION, then the profile's `region` in
 * ~/.aws/config), or an error that says what to set. Resolved once, at the first call.
 */
function profileRegion(profile: string): () => Promise<string> {
  let resolved: Promise<string> | undefined;
  return () =>
    (resolved ??= new SageMakerClient({}).config.region().catch(() => {
      resolved = undefined; // the user may fix ~/.aws/config without restarting
      throw new ConfigError(
        `No AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or a region for profile "${profile}" in ~/.aws/config (AWS_PROFILE picks the profile)`,
      );
    }));
}

/** What every client of this project shares: region, endpoint override, credentials override. */
export function awsClientConfig(opts: AwsClientOptions = {}, env: NodeJS.ProcessEnv = process.env) {
  const aws = awsConfig.read(env);
  return {
    region: opts.region ?? aws.AWS_REGION ?? aws.AWS_DEFAULT_REGION ?? profileRegion(aws.AWS_PROFILE),
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  };
}

/**
 * S3's configuration: path-style addressing whenever S3's endpoint is not AWS's (the local cloud,
 * moto, MinIO cannot serve virtual-hosted buckets on 127.0.0.1), whichever variable set it.
 */
export function s3ClientConfig(opts: AwsClientOptions = {}, env: NodeJS.ProcessEnv = process.env) {
  const aws = awsConfig.read(env);
  return { ...awsClientConfig(opts, env), forcePathStyle: Boolean(opts.endpoint ?? aws.AWS_ENDPOINT_URL_S3 ?? aws.AWS_ENDPOINT_URL) };
}

export function createAwsClients(opts: AwsClientOptions = {}): AwsClients {
  const config = {
    ...awsClientConfig(opts),
    // The SDK's own retries would hide throttling from Temporal's retry policy and stretch a
    // single attempt past its timeout; two quick tries absorb a blip, Temporal does the rest.
    maxAttempts: 2,
  };
  return {
    sagemaker: traceAwsSdkCalls(new SageMakerClient(config)),
    runtime: traceAwsSdkCalls(new SageMakerRuntimeClient(config)),
    iam: traceAwsSdkCalls(new IAMClient(config)),
    autoscaling: traceAwsSdkCalls(new ApplicationAutoScalingClient(config)),
    secretsManager: traceAwsSdkCalls(new SecretsManagerClient(config)),
    cloudwatch: traceAwsSdkCalls(new CloudWatchClient(config)),
    s3: traceAwsSdkCalls(new S3Client({ ...s3ClientConfig(opts), maxAttempts: config.maxAttempts })),
  };
}
