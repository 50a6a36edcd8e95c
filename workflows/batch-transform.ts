// batchTransform: one SageMaker Batch Transform job over an S3 prefix, waited for durably.
// validate → (model for the job) → count input records → create job → wait for it (O(1)
// history however long it runs) → count output records → delete the job's own model.
// Cancelling stops the job and waits until it is Stopped; a missed deadline does the same.
// The stop is armed before CreateTransformJob is attempted (and that call is waited for when
// cancelled), so a job created while the run is being cancelled is stopped too. The job's name
// and ownership tag both come from the first run of the chain, so a retried run adopts its job.
// An input with `mode: "endpoint"` is not a job: it runs batchFanOut as a child and returns its result.
import { ApplicationFailure, CancellationScope, executeChild, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import { batchTransformInputSchema, batchWorkflowType, type BatchFanOutInput, type BatchTransformInput } from '../common/batch-input.js';
import { modelContainer } from '../common/model-container.js';
import { DEFAULT_EXECUTION_ROLE_NAME, transformJobName } from '../common/resource-names.js';
import { controlPlaneActivities, countingActivities, pollingActivities } from './activity-proxies.js';
import { isDeadline, reasonOf } from './failures.js';
import { batchFanOut, type BatchFanOutResult } from './batch-fan-out.js';
import { ProgressTracker } from './progress.js';
import { validateInput } from '../common/input-parsing.js';

export interface BatchTransformResult {
  jobName: string;
  jobArn: string;
  modelName: string;
  outputS3Uri: string;
  inputObjects: number;
  inputRecords: number;
  outputObjects: number;
  outputRecords: number;
  /** Input records without an output record (0 for a Completed job with Line splitting). */
  missingRecords: number;
  jobStartTime?: string;
  jobEndTime?: string;
  jobDurationSeconds?: number;
  timings: Record<string, number>;
}

export async function batchTransform(rawInput: BatchTransformInput | BatchFanOutInput): Promise<BatchTransformResult | BatchFanOutResult> {
  if (batchWorkflowType(rawInput) === 'batchFanOut') {
    // Its own workflow (continue-as-new keeps its history O(1)); its progress query is on the child.
    return executeChild(batchFanOut, { args: [rawInput as BatchFanOutInput], workflowId: `${workflowInfo().workflowId}-fan-out` });
  }
  const spec = validateInput(batchTransformInputSchema, 'batchTransform', rawInput);
  const { workflowId, runId, firstExecutionRunId } = workflowInfo();
  const jobName = transformJobName(spec.jobNamePrefix, workflowId, firstExecutionRunId);
  // The ownership tag comes from the same run id as the name, so a retried run (a new runId)
  // recognises the job and model its first run made as its own. Runs started before this change
  // replay with their own run id and the stop armed after create.
  const sagaV2 = patched('batch-saga-v2');
  const runTag = `${workflowId}/${sagaV2 ? firstExecutionRunId : runId}`;
  const progress = new ProgressTracker('batchTransform', jobName);
  const controlPlane = controlPlaneActivities();
  const counting = countingActivities();
  const pollIntervalMs = spec.timeouts.pollIntervalSeconds * 1000;
  const waitForJob = pollingActivities({ deadlineMs: spec.timeouts.jobMinutes * 60_000, pollIntervalMs, summary: `Wait for transform job ${jobName}` });
  const waitForStop = pollingActivities({ deadlineMs: 30 * 60_000, pollIntervalMs, summary: `Wait for transform job ${jobName} to stop` });
  let createdModel: string | undefined;
  let jobCreated = false;

  const stopJob = async () => {
    await controlPlane.stopTransformJob({ jobName });
    await waitForStop.awaitTransformJobStopped({ jobName });
  };

  try {
    let modelName: string;
    if ('name' in spec.model) {
      modelName = spec.model.name;
      progress.skip('createModel', `using existing model ${modelName}`);
    } else {
      const container = modelContainer(spec.model);
      const roleArn =
        spec.executionRoleArn ??
        (await progress.step('ensureExecutionRole', () => controlPlane.ensureExecutionRole({ roleName: DEFAULT_EXECUTION_ROLE_NAME }))).roleArn;
      modelName = `${jobName}-model`;
      const created = await progress.step('createModel', () =>
        controlPlane.createModel({
          modelName,
          ...container,
          roleArn,
          tags: { endpointName: jobName, runTag, extra: spec.tags },
        }),
      );
      if (created.created) createdModel = modelName;
    }
    progress.resource('modelName', modelName);

    const input = await progress.step(
      'countInputRecords',
      () => counting.countS3Records({ s3Uri: spec.input.s3Uri, splitType: spec.input.splitType }),
      (c) => `${c.records} records in ${c.objects} objects`,
    );
    if (input.objects === 0) throw ApplicationFailure.nonRetryable(`input.s3Uri: no objects under ${spec.input.s3Uri}`, 'EmptyInput');
    progress.resource('inputRecords', String(input.records));

    if (sagaV2) jobCreated = true; // may exist from here on; stopping one that does not is a no-op
    const job = await progress.step('createTransformJob', () =>
      controlPlane.createTransformJob({
        jobName,
        modelName,
        inputS3Uri: spec.input.s3Uri,
        contentType: spec.input.contentType,
        splitType: spec.input.splitType,
        outputS3Uri: spec.output.s3Uri,
        accept: spec.output.accept,
        batchStrategy: spec.batchStrategy,
        maxPayloadMb: spec.maxPayloadMb,
        maxConcurrentTransforms: spec.maxConcurrentTransforms,
        instanceType: spec.instanceType,
        instanceCount: spec.instanceCount,
        environment: spec.environment,
        runTag,
        tags: spec.tags,
      }),
    );
    jobCreated = true;
    progress.resource('jobArn', job.jobArn);

    let finished;
    try {
      finished = await progress.step('waitForJob', () => waitForJob.awaitTransformJob({ jobName }));
    } catch (err) {
      if (!isDeadline(err)) throw err;
      await CancellationScope.nonCancellable(stopJob);
      throw ApplicationFailure.nonRetryable(
        `Transform job ${jobName} did not finish within ${spec.timeouts.jobMinutes} minutes; it was stopped`,
        'DeadlineExceeded',
      );
    }
    progress.lastStatus(finished.status);

    // Only the outputs of this job's inputs: `.out` objects an earlier run left are not counted.
    const output = await progress.step('countOutputRecords', () =>
      counting.countTransformOutputs({ inputS3Uri: spec.input.s3Uri, outputS3Uri: spec.output.s3Uri, splitType: spec.input.splitType }),
    );
    const durationMs = finished.startTime && finished.endTime ? Date.parse(finished.endTime) - Date.parse(finished.startTime) : undefined;
    progress.finish('succeeded');
    return {
      jobName,
      jobArn: job.jobArn,
      modelName,
      outputS3Uri: spec.output.s3Uri,
      inputObjects: input.objects,
      inputRecords: input.records,
      outputObjects: output.objects,
      outputRecords: output.records,
      missingRecords: Math.max(0, input.records - output.records),
      jobStartTime: finished.startTime,
      jobEndTime: finished.endTime,
      jobDurationSeconds: durationMs === undefined ? undefined : Math.round(durationMs / 100) / 10,
      timings: progress.timings(),
    };
  } catch (err) {
    const cancelled = isCancellation(err);
    if (jobCreated && (cancelled || sagaV2)) {
      progress.compensating();
      await CancellationScope.nonCancellable(stopJob);
    }
    progress.finish(cancelled ? 'cancelled' : 'failed', cancelled ? 'cancelled; transform job stopped' : reasonOf(err));
    if (cancelled) throw err;
    throw ApplicationFailure.create({
      message: `Batch transform ${jobName} failed at step ${progress.snapshot().step}: ${reasonOf(err)}`,
      type: 'BatchTransformFailed',
      nonRetryable: true,
      details: [progress.snapshot()],
    });
  } finally {
    if (createdModel) {
      const modelName = createdModel;
      // The model existed only for this job; remove it however the job ended.
      await CancellationScope.nonCancellable(() => controlPlane.deleteModel({ modelName }));
    }
  }
}
