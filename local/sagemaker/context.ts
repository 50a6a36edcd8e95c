// What every control-plane operation gets besides its input: the state, the endpoint
// lifecycle, inference components and transform jobs (model processes), CloudWatch, S3, the IAM check, and the region of the request.
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import type { EndpointLifecycle } from './endpoint-lifecycle.js';
import type { InferenceComponentLifecycle } from './inference-component-lifecycle.js';
import type { Wire } from './protocol.js';
import type { RoleVerifier } from './roles.js';
import type { SageMakerStore } from './store.js';
import type { TransformJobRunner } from './transform-runner.js';

export interface OperationContext {
  /** From the request's SigV4 credential scope: the region ARNs of new resources name. */
  region: string;
  store: SageMakerStore;
  endpoints: EndpointLifecycle;
  components: InferenceComponentLifecycle;
  transformJobs: TransformJobRunner;
  /** CloudWatch (moto): the alarms an UpdateEndpoint's AutoRollbackConfiguration names. */
  cloudWatch: () => CloudWatchClient;
  /** S3 (moto) as the local cloud's own features reach it. */
  s3: () => S3Client;
  verifyRole: RoleVerifier;
  log: Logger;
}

/** An operation typed by the SDK's own input and output shapes. */
export type Operation<Input, Output> = (input: Wire<Input>, ctx: OperationContext) => Output | Promise<Output>;
