// SageMaker Runtime's async inference: InvokeEndpointAsync queues a request whose body is
// already in S3, and the answer (or the failure) later appears as an S3 object. The wait is
// one poll per attempt under the workflow's retry-as-poll policy.
import type { S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointAsyncCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { ApplicationFailure } from '@temporalio/common';
import { callAws, notYet } from './aws-errors.js';
import { readS3Object } from './s3.js';

export function createAsyncInferenceActivities({ runtime, s3 }: { runtime: SageMakerRuntimeClient; s3: S3Client }) {
  return {
    async invokeEndpointAsync(input: { endpointName: string; inputLocation: string; contentType: string; inferenceId?: string }) {
      const out = await callAws(`InvokeEndpointAsync ${input.endpointName}`, () =>
        runtime.send(
          new InvokeEndpointAsyncCommand({
            EndpointName: input.endpointName,
            InputLocation: input.inputLocation,
            ContentType: input.contentType,
            InferenceId: input.inferenceId,
          }),
        ),
      );
      return { inferenceId: out.InferenceId!, outputLocation: out.OutputLocation!, failureLocation: out.FailureLocation };
    },

    /** One poll for an async inference's result: the output object, or its failure object. */
    async awaitAsyncResult({
      outputLocation,
      failureLocation,
    }: {
      outputLocation: string;
      failureLocation?: string;
    }): Promise<{ body: string; truncated: boolean }> {
      const output = await readS3Object(s3, { s3Uri: outputLocation });
      if (output) return output;
      const failure = failureLocation ? await readS3Object(s3, { s3Uri: failureLocation }) : undefined;
      if (failure) throw ApplicationFailure.nonRetryable(`Async inference failed: ${failure.body}`, 'AsyncInferenceFailed', { failureLocation });
      throw notYet(`No result yet at ${outputLocation}`, 'AsyncResultNotReady');
    },
  };
}
