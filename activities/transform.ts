// Batch Transform jobs. Same contract as the endpoint activities: creates
// are idempotent (a job that exists is described and checked to be ours), waits are one poll
// per attempt under a retry-as-poll policy, "not found" on stop means nothing to stop.
import {
  CreateTransformJobCommand,
  DescribeTransformJobCommand,
  StopTransformJobCommand,
  type DescribeTransformJobResponse,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { ApplicationFailure } from '@temporalio/common';
import { TAG_CREATED_BY } from '../common/resource-names.js';
import { callAws, callAwsOrUndefined, classifyAwsError, isAlreadyExists, notYet } from './aws-errors.js';
import { readTags, toTags } from './resource-tags.js';

export interface CreateTransformJobInput {
  jobName: string;
  modelName: string;
  inputS3Uri: string;
  contentType: string;
  splitType: 'Line' | 'None';
  outputS3Uri: string;
  accept: string;
  batchStrategy: 'SingleRecord' | 'MultiRecord';
  maxPayloadMb: number;
  maxConcurrentTransforms: number;
  instanceType: string;
  instanceCount: number;
  environment: Record<string, string>;
  /** `<workflowId>/<runId>` that creates the job, plus user tags. */
  runTag: string;
  tags: Record<string, string>;
}

export interface TransformJobState {
  status: string;
  failureReason?: string;
  startTime?: string;
  endTime?: string;
}

const state = (job: DescribeTransformJobResponse): TransformJobState => ({
  status: job.TransformJobStatus ?? 'Unknown',
  failureReason: job.FailureReason,
  startTime: job.TransformStartTime?.toISOString(),
  endTime: job.TransformEndTime?.toISOString(),
});

export function createTransformActivities({ sagemaker }: { sagemaker: SageMakerClient }) {
  const describe = (jobName: string): Promise<DescribeTransformJobResponse | undefined> =>
    callAwsOrUndefined(`DescribeTransformJob ${jobName}`, () => sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: jobName })));

  return {
    async createTransformJob(input: CreateTransformJobInput): Promise<{ jobArn: string; created: boolean }> {
      try {
        const out = await sagemaker.send(
          new CreateTransformJobCommand({
            TransformJobName: input.jobName,
            ModelName: input.modelName,
            BatchStrategy: input.batchStrategy,
            MaxPayloadInMB: input.maxPayloadMb,
            MaxConcurrentTransforms: input.maxConcurrentTransforms,
            Environment: input.environment,
            TransformInput: {
              DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: input.inputS3Uri } },
              ContentType: input.contentType,
              SplitType: input.splitType,
            },
            TransformOutput: { S3OutputPath: input.outputS3Uri, Accept: input.accept, AssembleWith: input.splitType === 'Line' ? 'Line' : 'None' },
            TransformResources: { InstanceType: input.instanceType as never, InstanceCount: input.instanceCount },
            Tags: toTags({ runTag: input.runTag, extra: input.tags }),
          }),
        );
        return { jobArn: out.TransformJobArn!, created: true };
      } catch (err) {
        if (!isAlreadyExists(err)) return classifyAwsError(err, `CreateTransformJob ${input.jobName}`);
      }
      // An earlier attempt of this activity created it (the name is derived from the run).
      const job = (await describe(input.jobName))!;
      const owner = (await readTags(sagemaker, job.TransformJobArn!))[TAG_CREATED_BY];
      if (owner !== input.runTag) {
        throw ApplicationFailure.nonRetryable(`Transform job ${input.jobName} already exists and belongs to ${owner ?? 'someone else'}`, 'ResourceConflict');
      }
      return { jobArn: job.TransformJobArn!, created: false };
    },

    /** One poll of a wait for the job to finish; Completed returns, Failed/Stopped fail. */
    async awaitTransformJob({ jobName }: { jobName: string }): Promise<TransformJobState> {
      const job = await describe(jobName);
      if (!job) throw ApplicationFailure.nonRetryable(`Transform job ${jobName} does not exist`, 'TransformJobNotFound');
      const s = state(job);
      if (s.status === 'Completed') return s;
      if (s.status === 'Failed') {
        throw ApplicationFailure.nonRetryable(`Transform job ${jobName} failed: ${s.failureReason ?? 'no FailureReason given'}`, 'TransformJobFailed', s);
      }
      if (s.status === 'Stopped') throw ApplicationFailure.nonRetryable(`Transform job ${jobName} was stopped`, 'TransformJobStopped', s);
      throw notYet(`Transform job ${jobName} is ${s.status}`, 'TransformJobNotDone');
    },

    /** Asks the job to stop; a job that already finished (or never existed) needs nothing. */
    async stopTransformJob({ jobName }: { jobName: string }): Promise<{ stopRequested: boolean }> {
      const job = await describe(jobName);
      if (!job || job.TransformJobStatus !== 'InProgress') return { stopRequested: false };
      await callAws(`StopTransformJob ${jobName}`, () => sagemaker.send(new StopTransformJobCommand({ TransformJobName: jobName })));
      return { stopRequested: true };
    },

    /** One poll of a wait for a stop to take effect: any terminal status ends it. */
    async awaitTransformJobStopped({ jobName }: { jobName: string }): Promise<TransformJobState | undefined> {
      const job = await describe(jobName);
      if (!job) return undefined;
      const s = state(job);
      if (s.status === 'InProgress' || s.status === 'Stopping') throw notYet(`Transform job ${jobName} is ${s.status}`, 'TransformJobNotDone');
      return s;
    },
  };
}
