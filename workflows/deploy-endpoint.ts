// deployEndpoint: the runbook for putting a Hugging Face LLM behind a SageMaker endpoint.
// validate → execution role → model → endpoint config → endpoint (create or blue/green update)
// → wait for InService → autoscaling → smoke test. Any failure (or cancellation) undoes what
// this run created, newest first, unless the input asks to retain it. Endpoints that host
// inference components (endpointType "inferenceComponents") follow their own runbook,
// deploy-inference-components.ts, under the same saga rules.
//
// The saga's rules (issue 9): each undo is registered before its create is attempted, and the
// undo itself checks the ownership tags, so an undo that finds nothing, or finds what another
// run made, does nothing; an endpoint is deleted only once AWS allows it (not Creating or
// Updating); a config or model the endpoint still uses is kept; autoscaling is deregistered only
// if this run registered it; an update's previous config is read before the update starts, so a
// retried update keeps its rollback, and the rollback never creates an endpoint.
import { ApplicationFailure, patched, workflowInfo } from '@temporalio/workflow';
import { deployEndpointInputSchema, type AnyDeployEndpointInput } from '../common/endpoint-input.js';
import { containerFormatOf } from '../common/container-format.js';
import { modelContainer } from '../common/model-container.js';
import { DEFAULT_EXECUTION_ROLE_NAME, endpointConfigName, modelName, teardownWorkflowId, variantResourceId } from '../common/resource-names.js';
import type { EndpointChange } from '../activities/sagemaker.js';
import { compensationActivities, controlPlaneActivities, invocationActivities, pollingActivities } from './activity-proxies.js';
import { Compensations, failDeploy } from './compensation.js';
import { deployInferenceComponents, type InferenceComponentsDeployResult } from './deploy-inference-components.js';
import { leaseStep } from './endpoint-lease.js';
import { refuseWhileRunning } from './endpoint-exclusion.js';
import { isDeadline } from './failures.js';
import { ProgressTracker } from './progress.js';
import { followRollout, prepareRolloutAlarms, removeRolloutAlarms, ROLLOUT_POLICY, startRollout, type RolloutContext } from './rollout.js';
import { validateInput } from '../common/input-parsing.js';
import { tagWithEndpointName } from './endpoint-search-attribute.js';

/** Marks runs with the issue-9 saga; runs started before it replay the old sequence. */
export const DEPLOY_SAGA_V2 = 'deploy-saga-v2';

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

export async function deployEndpoint(rawInput: AnyDeployEndpointInput): Promise<DeployEndpointResult | InferenceComponentsDeployResult> {
  const spec = validateInput(deployEndpointInputSchema, 'deployEndpoint', rawInput);
  const { endpointName } = spec;
  tagWithEndpointName(endpointName);
  // Inference-component endpoints have their own runbook; the model-based one continues here.
  if (spec.endpointType === 'inferenceComponents') return deployInferenceComponents(spec);
  const progress = new ProgressTracker('deployEndpoint', endpointName);
  const undo = new Compensations();
  const sagaV2 = patched(DEPLOY_SAGA_V2);
  const { workflowId, runId, firstExecutionRunId } = workflowInfo();
  // The whole chain of runs (a retried workflow included) owns what its first run created.
  const runTag = `${workflowId}/${sagaV2 ? firstExecutionRunId : runId}`;
  const tags = { endpointName, runTag, extra: spec.tags };
  const controlPlane = controlPlaneActivities();
  const pollIntervalMs = spec.timeouts.pollIntervalSeconds * 1000;
  const compensate = compensationActivities({ pollIntervalMs });
  const owned = { ownedBy: runTag, endpointName };
  const names = { model: modelName(spec), config: endpointConfigName(spec) };
  const rolloutPolicy = spec.rollout;
  const waitForInService = pollingActivities({
    deadlineMs: spec.timeouts.inServiceMinutes * 60_000,
    pollIntervalMs,
    summary: `Wait for ${endpointName} to be InService (deadline ${spec.timeouts.inServiceMinutes} min)`,
  });
  /** Runs a create with its undo registered first (pre-v2 runs registered it after, if created). */
  const createWithUndo = async <T extends { created: boolean }>(description: string, run: () => Promise<unknown>, create: () => Promise<T>): Promise<T> => {
    if (sagaV2) undo.push(description, run);
    const result = await create();
    if (!sagaV2 && result.created) undo.push(description, run);
    return result;
  };

  if (sagaV2) await refuseWhileRunning(controlPlane, teardownWorkflowId(endpointName), `Deploy of endpoint ${endpointName}`);

  try {
    const roleArn = spec.executionRoleArn
      ? (progress.skip('ensureExecutionRole', 'executionRoleArn given'), spec.executionRoleArn)
      : (await progress.step('ensureExecutionRole', () => controlPlane.ensureExecutionRole({ roleName: DEFAULT_EXECUTION_ROLE_NAME }))).roleArn;
    progress.resource('roleArn', roleArn);

    const model = await createWithUndo(
      `delete model ${names.model}`,
      () => compensate.deleteModel({ modelName: names.model, ...owned }),
      () => progress.step('createModel', () => controlPlane.createModel({ modelName: names.model, ...modelContainer(spec.model), roleArn, tags })),
    );
    progress.resource('modelName', names.model);

    const config = await createWithUndo(
      `delete endpoint config ${names.config}`,
      () => compensate.deleteEndpointConfig({ configName: names.config, ...owned }),
      () =>
        progress.step('createEndpointConfig', () =>
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
        ),
    );
    progress.resource('endpointConfigName', names.config);

    const deleteEndpoint = async () => {
      if ((await compensate.deleteEndpoint({ endpointName, ownedBy: runTag })).deleted) await compensate.awaitEndpointDeleted({ endpointName });
    };
    const rollBackTo = (previous: string) => async () => {
      // Waits out the update being undone (or AWS's own rollback), then moves back; never creates.
      if ((await compensate.updateEndpoint({ endpointName, configName: previous, ifExists: true })).updated) {
        await compensate.awaitEndpointInService({ endpointName, expectedConfigName: previous });
      }
    };
    // An update with a rollout policy (runs since ROLLOUT_POLICY): alarms, then the shift SageMaker runs.
    let rollout: { ctx: RolloutContext; alarmNames: string[] } | undefined;
    const change: EndpointChange = sagaV2 ? await createOrUpdate() : await legacyCreateOrUpdate();
    progress.resource('endpointArn', change.endpointArn);

    async function createOrUpdate(): Promise<EndpointChange> {
      // Read once, before anything changes, and kept in history: a retried update still knows
      // the config to roll back to even when its first attempt already finished.
      let before = await controlPlane.describeEndpointStatus({ endpointName });
      if (before.status === 'Failed') {
        throw ApplicationFailure.nonRetryable(
          `Endpoint ${endpointName} exists in status Failed (${before.failureReason ?? 'no reason given'}); tear it down before deploying again`,
          'EndpointFailed',
        );
      }
      if (before.status === 'NotFound' || before.createdBy === runTag) {
        undo.push(`delete endpoint ${endpointName}`, deleteEndpoint);
        const created = await progress.step(
          'createOrUpdateEndpoint',
          () => controlPlane.createEndpoint({ endpointName, configName: names.config, tags }),
          () => 'created',
        );
        return { endpointArn: created.endpointArn, action: 'created' };
      }
      if (before.configName === names.config || before.pendingConfigName === names.config) {
        progress.skip('createOrUpdateEndpoint', `endpoint already on ${names.config}`);
        return { endpointArn: before.endpointArn!, action: 'unchanged' };
      }
      if (before.status !== 'InService') {
        // Someone else's change is under way; let it settle so "previous" is what it left.
        await progress.step('waitForEndpointIdle', () => waitForInService.awaitEndpointInService({ endpointName }));
        before = await controlPlane.describeEndpointStatus({ endpointName });
      }
      const previousConfigName = before.configName!;
      if (rolloutPolicy && patched(ROLLOUT_POLICY)) {
        const ctx: RolloutContext = {
          endpointName,
          variantName: spec.variant.name,
          configName: names.config,
          rollout: rolloutPolicy,
          tags,
          progress,
          undo,
          controlPlane,
          compensate,
          pollIntervalMs,
          inServiceSeconds: spec.timeouts.inServiceMinutes * 60,
        };
        const alarmNames = await prepareRolloutAlarms(ctx);
        undo.push(`roll endpoint ${endpointName} back to ${previousConfigName}`, rollBackTo(previousConfigName));
        await startRollout(ctx, alarmNames);
        rollout = { ctx, alarmNames };
        return { endpointArn: before.endpointArn!, action: 'updated', previousConfigName };
      }
      undo.push(`roll endpoint ${endpointName} back to ${previousConfigName}`, rollBackTo(previousConfigName));
      await progress.step(
        'createOrUpdateEndpoint',
        () => waitForInService.updateEndpoint({ endpointName, configName: names.config }),
        () => 'updated',
      );
      return { endpointArn: before.endpointArn!, action: 'updated', previousConfigName };
    }

    /** Deploys started before DEPLOY_SAGA_V2 replay this: one call, undo registered after. */
    async function legacyCreateOrUpdate(): Promise<EndpointChange> {
      const c = await progress.step(
        'createOrUpdateEndpoint',
        () => controlPlane.createOrUpdateEndpoint({ endpointName, configName: names.config, tags }),
        (r) => r.action,
      );
      if (c.action === 'created') undo.push(`delete endpoint ${endpointName}`, deleteEndpoint);
      else if (c.action === 'updated' && c.previousConfigName) {
        const previous = c.previousConfigName;
        undo.push(`roll endpoint ${endpointName} back to ${previous}`, async () => {
          await waitForInService.createOrUpdateEndpoint({ endpointName, configName: previous, tags });
          await waitForInService.awaitEndpointInService({ endpointName, expectedConfigName: previous });
        });
      }
      return c;
    }

    if (rollout) {
      await followRollout(rollout.ctx, rollout.alarmNames);
      await removeRolloutAlarms(rollout.ctx, rollout.alarmNames);
    } else {
      try {
        const ready = await progress.step('waitForInService', () =>
          waitForInService.awaitEndpointInService({ endpointName, expectedConfigName: names.config }),
        );
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
    }

    let autoscaling: DeployEndpointResult['autoscaling'];
    if (spec.autoscaling) {
      const scaling = spec.autoscaling;
      const resourceId = variantResourceId(endpointName, spec.variant.name);
      const deregister = () => compensate.deregisterAutoscaling({ resourceId });
      // Only a target this run adds is removed on failure: an existing one serves a live endpoint.
      const existed = sagaV2 && change.action !== 'created' && (await controlPlane.findScalableTargets({ endpointName })).includes(resourceId);
      if (sagaV2 && !existed) undo.push(`deregister autoscaling ${resourceId}`, deregister);
      autoscaling = await progress.step('registerAutoscaling', () =>
        controlPlane.registerAutoscaling({ endpointName, variantName: spec.variant.name, ...scaling }),
      );
      if (!sagaV2) undo.push(`deregister autoscaling ${resourceId}`, deregister);
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
        invocationActivities().invokeEndpoint({
          endpointName,
          inputs: prompt,
          parameters: { max_new_tokens: maxNewTokens, temperature: 0.7, top_p: 0.9 },
          format: containerFormatOf(spec.model),
        }),
      );
      smokeTest = { prompt, ...out };
    } else {
      progress.skip('smokeTest', 'smokeTest: false');
    }

    // The idle guard outlives this run (parent close policy ABANDON); a lease already watching the
    // endpoint takes the new terms.
    await leaseStep(progress, endpointName, spec, 'endpoint-lease');

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
    return failDeploy(err, { endpointName, retainOnFailure: spec.retainOnFailure, progress, undo });
  }
}
