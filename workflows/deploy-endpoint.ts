// deployEndpoint: the runbook for putting a Hugging Face LLM behind a SageMaker endpoint.
// validate → execution role → model → endpoint config → endpoint (create or blue/green update)
// → wait for InService → autoscaling → smoke test. Any failure (or cancellation) undoes what
// this run created, newest first, unless the input asks to retain it.
import { ApplicationFailure, isCancellation, workflowInfo } from '@temporalio/workflow';
import { deployEndpointInputSchema, type DeployEndpointInput, type DeploySpec } from '../common/endpoint-input';
import { modelContainer } from '../common/model-container';
import { DEFAULT_EXECUTION_ROLE_NAME, endpointConfigName, modelName } from '../common/resource-names';
import type { EndpointChange } from '../activities/sagemaker';
import { controlPlaneActivities, pollingActivities } from './activity-proxies';
import { Compensations } from './compensation';
import { isDeadline, reasonOf } from './failures';
import { ProgressTracker } from './progress';
import { tagWithEndpointName, validateInput } from './workflow-input';

export interface DeployEndpointResult {
  endpointName: string;
  endpointArn: string;
  action: EndpointChange['action'];
  modelName: string;
  modelArn: string;
  endpointConfigName: string;
  endpointConfigArn: string;
  roleArn: string;
  autoscaling?: { resourceId: string; policyArn: string };
  smokeTest?: { prompt: string; generatedText: string; latencyMs: number; invokedVariant?: string };
  timings: Record<string, number>;
}

export async function deployEndpoint(rawInput: DeployEndpointInput): Promise<DeployEndpointResult> {
  const spec: DeploySpec = validateInput(deployEndpointInputSchema, 'deployEndpoint', rawInput);
  const { endpointName } = spec;
  tagWithEndpointName(endpointName);
  const progress = new ProgressTracker('deployEndpoint', endpointName);
  const undo = new Compensations();
  const { workflowId, runId } = workflowInfo();
  const tags = { endpointName, runTag: `${workflowId}/${runId}`, extra: spec.tags };
  const controlPlane = controlPlaneActivities();
  const names = { model: modelName(spec), config: endpointConfigName(spec) };
  const waitForInService = pollingActivities({
    deadlineMs: spec.timeouts.inServiceMinutes * 60_000,
    pollIntervalMs: spec.timeouts.pollIntervalSeconds * 1000,
    summary: `Wait for ${endpointName} to be InService (deadline ${spec.timeouts.inServiceMinutes} min)`,
  });

  try {
    const roleArn = spec.executionRoleArn
      ? (progress.skip('ensureExecutionRole', 'executionRoleArn given'), spec.executionRoleArn)
      : (await progress.step('ensureExecutionRole', () => controlPlane.ensureExecutionRole({ roleName: DEFAULT_EXECUTION_ROLE_NAME }))).roleArn;
    progress.resource('roleArn', roleArn);

    const model = await progress.step('createModel', () =>
      controlPlane.createModel({
        modelName: names.model,
        ...modelContainer(spec.model),
        roleArn,
        tags,
      }),
    );
    progress.resource('modelName', names.model);
    if (model.created) undo.push(`delete model ${names.model}`, () => controlPlane.deleteModel({ modelName: names.model }));

    const config = await progress.step('createEndpointConfig', () =>
      controlPlane.createEndpointConfig({
        configName: names.config,
        modelName: names.model,
        variantName: spec.variant.name,
        instanceType: spec.variant.instanceType,
        initialInstanceCount: spec.variant.initialInstanceCount,
        containerStartupHealthCheckTimeoutSeconds: spec.variant.containerStartupHealthCheckTimeoutSeconds,
        asyncInference: spec.asyncInference,
        tags,
      }),
    );
    progress.resource('endpointConfigName', names.config);
    if (config.created) undo.push(`delete endpoint config ${names.config}`, () => controlPlane.deleteEndpointConfig({ configName: names.config }));

    const change = await progress.step(
      'createOrUpdateEndpoint',
      () => controlPlane.createOrUpdateEndpoint({ endpointName, configName: names.config, tags }),
      (c) => c.action,
    );
    progress.resource('endpointArn', change.endpointArn);
    if (change.action === 'created') {
      undo.push(`delete endpoint ${endpointName}`, async () => {
        await controlPlane.deleteEndpoint({ endpointName });
        await pollingActivities({ deadlineMs: 30 * 60_000, pollIntervalMs: spec.timeouts.pollIntervalSeconds * 1000 }).awaitEndpointDeleted({ endpointName });
      });
    } else if (change.action === 'updated' && change.previousConfigName) {
      const previous = change.previousConfigName;
      undo.push(`roll endpoint ${endpointName} back to ${previous}`, async () => {
        // The update being undone may still be rolling out; wait it out (EndpointBusy) first.
        await waitForInService.createOrUpdateEndpoint({ endpointName, configName: previous, tags });
        await waitForInService.awaitEndpointInService({ endpointName, expectedConfigName: previous });
      });
    }

    try {
      const ready = await progress.step('waitForInService', () => waitForInService.awaitEndpointInService({ endpointName, expectedConfigName: names.config }));
      progress.lastStatus(ready.status);
    } catch (err) {
      if (!isDeadline(err)) throw err;
      const now = await controlPlane.describeEndpointStatus({ endpointName });
      progress.lastStatus(now.status);
      throw ApplicationFailure.nonRetryable(
        `Endpoint ${endpointName} did not reach InService within ${spec.timeouts.inServiceMinutes} minutes (status now: ${now.status})`,
        'DeadlineExceeded',
      );
    }

    let autoscaling: DeployEndpointResult['autoscaling'];
    if (spec.autoscaling) {
      const scaling = spec.autoscaling;
      autoscaling = await progress.step('registerAutoscaling', () =>
        controlPlane.registerAutoscaling({ endpointName, variantName: spec.variant.name, ...scaling }),
      );
      const resourceId = autoscaling.resourceId;
      undo.push(`deregister autoscaling ${resourceId}`, () => controlPlane.deregisterAutoscaling({ resourceId }));
    } else {
      progress.skip('registerAutoscaling', 'no autoscaling in input');
    }

    let smokeTest: DeployEndpointResult['smokeTest'];
    if (spec.asyncInference) {
      // SageMaker refuses InvokeEndpoint on an async endpoint; asyncInvoke exercises it.
      progress.skip('smokeTest', 'async inference endpoint');
    } else if (spec.smokeTest) {
      const { prompt, maxNewTokens } = spec.smokeTest;
      const out = await progress.step('smokeTest', () =>
        controlPlane.invokeEndpoint({ endpointName, inputs: prompt, parameters: { max_new_tokens: maxNewTokens, temperature: 0.7, top_p: 0.9 } }),
      );
      smokeTest = { prompt, ...out };
    } else {
      progress.skip('smokeTest', 'smokeTest: false');
    }

    progress.finish('succeeded');
    return {
      endpointName,
      endpointArn: change.endpointArn,
      action: change.action,
      modelName: names.model,
      modelArn: model.modelArn,
      endpointConfigName: names.config,
      endpointConfigArn: config.configArn,
      roleArn,
      autoscaling,
      smokeTest,
      timings: progress.timings(),
    };
  } catch (err) {
    const cancelled = isCancellation(err);
    const reason = cancelled ? 'cancelled' : reasonOf(err);
    let cleanup = 'resources retained (retainOnFailure)';
    if (!spec.retainOnFailure) {
      progress.compensating();
      const { undone, failed } = await undo.runAll();
      cleanup = [undone.length ? `rolled back: ${undone.join(', ')}` : 'nothing to roll back', failed.length ? `could not undo: ${failed.join(', ')}` : '']
        .filter(Boolean)
        .join('; ');
    }
    progress.finish(cancelled ? 'cancelled' : 'failed', `${reason} (${cleanup})`);
    if (cancelled) throw err;
    throw ApplicationFailure.create({
      message: `Deploy of endpoint ${endpointName} failed at step ${progress.snapshot().step}: ${reason} (${cleanup})`,
      type: 'DeployFailed',
      nonRetryable: true,
      details: [progress.snapshot()],
    });
  }
}
