// asyncInvoke: one request to an endpoint with async inference, waited for durably. The
// request body is already in S3; the answer is the output object SageMaker writes, or the
// failure object, whichever appears first, within the deadline.
import { ApplicationFailure } from '@temporalio/workflow';
import { asyncInvokeInputSchema, type AsyncInvokeInput } from '../common/batch-input.js';
import { controlPlaneActivities, pollingActivities } from './activity-proxies.js';
import { isDeadline, reasonOf } from './failures.js';
import { ProgressTracker } from './progress.js';
import { validateInput } from '../common/input-parsing.js';
import { tagWithEndpointName } from './endpoint-search-attribute.js';

export interface AsyncInvokeResult {
  inferenceId: string;
  outputLocation: string;
  body: string;
  truncated: boolean;
  timings: Record<string, number>;
}

export async function asyncInvoke(rawInput: AsyncInvokeInput): Promise<AsyncInvokeResult> {
  const spec = validateInput(asyncInvokeInputSchema, 'asyncInvoke', rawInput);
  tagWithEndpointName(spec.endpointName);
  const progress = new ProgressTracker('asyncInvoke', spec.endpointName);
  const controlPlane = controlPlaneActivities();
  try {
    const request = await progress.step('invokeEndpointAsync', () =>
      controlPlane.invokeEndpointAsync({
        endpointName: spec.endpointName,
        inputLocation: spec.inputLocation,
        contentType: spec.contentType,
        inferenceId: spec.inferenceId,
      }),
    );
    progress.resource('inferenceId', request.inferenceId);
    progress.resource('outputLocation', request.outputLocation);
    const waitForResult = pollingActivities({
      deadlineMs: spec.timeouts.resultMinutes * 60_000,
      pollIntervalMs: spec.timeouts.pollIntervalSeconds * 1000,
      summary: `Wait for ${request.outputLocation}`,
    });
    let result;
    try {
      result = await progress.step('waitForResult', () =>
        waitForResult.awaitAsyncResult({ outputLocation: request.outputLocation, failureLocation: request.failureLocation }),
      );
    } catch (err) {
      if (!isDeadline(err)) throw err;
      throw ApplicationFailure.nonRetryable(`No result at ${request.outputLocation} within ${spec.timeouts.resultMinutes} minutes`, 'DeadlineExceeded');
    }
    progress.finish('succeeded');
    return { inferenceId: request.inferenceId, outputLocation: request.outputLocation, ...result, timings: progress.timings() };
  } catch (err) {
    progress.finish('failed', reasonOf(err));
    throw ApplicationFailure.create({
      message: `Async inference on ${spec.endpointName} failed: ${reasonOf(err)}`,
      type: 'AsyncInvokeFailed',
      nonRetryable: true,
    });
  }
}
