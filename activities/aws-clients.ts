// One AWS SDK v3 client per service per worker. Credentials and region come from the standard
// chain; the endpoint from AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>, which the SDK reads
// itself, so the same code talks to AWS or to the local cloud. Each call is traced (a span under
// the caller's, e.g. the activity's) when tracing is set up (common/tracing.ts).
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
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

export function createAwsClients(opts: AwsClientOptions = {}): AwsClients {
  const config = {
    region: opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
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
    // A custom endpoint (the local cloud) cannot do virtual-hosted buckets on 127.0.0.1.
    s3: traceAwsSdkCalls(new S3Client({ ...config, forcePathStyle: Boolean(opts.endpoint ?? process.env.AWS_ENDPOINT_URL) })),
  };
}
