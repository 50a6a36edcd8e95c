// deployEndpoint for an endpoint that hosts inference components (endpointType
// "inferenceComponents"): role → one model per component → endpoint config (no model in the
// variant; routing, managed instance scaling, execution role) → endpoint → InService → each
// component created, updated (a rolling update when its spec changed) or given a new copy count
// (runtime config only) → each component InService → autoscaling per component → a smoke test
// through each component → the idle guard's lease, when the input has `idle` or `ttl`. Same saga rules as the model-based runbook (deploy-endpoint.ts):
// each undo is registered before its create and checks ownership tags; a component's previous
// spec and copy count are read before it changes, so its undo can put them back.
import { ApplicationFailure, patched, workflowInfo } from '@temporalio/workflow';
import type { InferenceComponentsDeploySpec } from '../common/endpoint-input.js';
import { componentSpecShape, sameComponentSpec, type ComponentSpecShape } from '../common/inference-component-spec.js';
import { containerFormatOf } from '../common/container-format.js';
import { modelContainer } from '../common/model-container.js';
import {
  componentModelName,
  DEFAULT_EXECUTION_ROLE_NAME,
  inferenceComponentResourceId,
  inferenceComponentsConfigName,
  teardownWorkflowId,
} from '../common/resource-names.js';
import type { WakeFromZero } from '../activities/autoscaling.js';
import { compensationActivities, controlPlaneActivities, invocationActivities, pollingActivities } from './activity-proxies.js';
import { Compensations, failDeploy } from './compensation.js';
import { leaseStep } from './endpoint-lease.js';
import { refuseWhileRunning } from './endpoint-exclusion.js';
import { isDeadline } from './failures.js';
import { ProgressTracker } from './progress.js';

export type ComponentAction = 'created' | 'updated' | 'copiesChanged' | 'unchanged';

export interface InferenceComponentsDeployResult {
  endpointName: string;
  endpointType: 'inferenceComponents';
  endpointArn: string;
  action: 'created' | 'updated' | 'unchanged';
  endpointConfigName: string;
  roleArn: string;
  components: Array<{
    name: string;
    action: ComponentAction;
    modelName: string;
    copies: { desired?: number; current?: number };
    /** With scaleToZero, also the step policy and alarm that wake the component from zero copies. */
    autoscaling?: { resourceId: string; policyArn: string; wakeFromZero?: WakeFromZero };
    smokeTest?: { prompt: string; generatedText: string; latencyMs: number };
  }>;
  timings: Record<string, number>;
}

export async function deployInferenceComponents(spec: InferenceComponentsDeploySpec): Promise<InferenceComponentsDeployResult> {
  const { endpointName } = spec;
  const progress = new ProgressTracker('deployEndpoint', endpointName);
  const undo = new Compensations();
  const { workflowId, firstExecutionRunId } = workflowInfo();
  const runTag = `${workflowId}/${firstExecutionRunId}`;
  const tags = { endpointName, runTag, extra: spec.tags };
  const controlPlane = controlPlaneActivities();
  const pollIntervalMs = spec.timeouts.pollIntervalSeconds * 1000;
  const compensate = compensationActivities({ pollIntervalMs });
  const deadlineMinutes = spec.timeouts.inServiceMinutes;
  const poll = (summary: string) => pollingActivities({ deadlineMs: deadlineMinutes * 60_000, pollIntervalMs, summary });
  /** A wait that names what it waited for when the deadline passes. */
  const waitOrDeadline = async <T>(what: string, wait: () => Promise<T>): Promise<T> => {
    try {
      return await wait();
    } catch (err) {
      if (!isDeadline(err)) throw err;
      throw ApplicationFailure.nonRetryable(`${what} did not reach InService within ${deadlineMinutes} minutes`, 'DeadlineExceeded');
    }
  };

  await refuseWhileRunning(controlPlane, teardownWorkflowId(endpointName), `Deploy of endpoint ${endpointName}`);

  try {
    const roleArn = spec.executionRoleArn
      ? (progress.skip('ensureExecutionRole', 'executionRoleArn given'), spec.executionRoleArn)
      : (await progress.step('ensureExecutionRole', () => controlPlane.ensureExecutionRole({ roleName: DEFAULT_EXECUTION_ROLE_NAME }))).roleArn;
    progress.resource('roleArn', roleArn);

    const wanted = spec.components.map((c) => {
      const modelName = componentModelName(endpointName, c.model);
      return { component: c, modelName, shape: componentSpecShape(c, modelName) };
    });
    for (const { component, modelName } of wanted) {
      undo.push(`delete model ${modelName}`, () => compensate.deleteModel({ modelName, ownedBy: runTag, endpointName }));
      await progress.step(`createModel ${component.name}`, () => controlPlane.createModel({ modelName, ...modelContainer(component.model), roleArn, tags }));
    }

    const configName = inferenceComponentsConfigName(spec, roleArn);
    undo.push(`delete endpoint config ${configName}`, () => compensate.deleteEndpointConfig({ configName, ownedBy: runTag, endpointName }));
    await progress.step('createEndpointConfig', () =>
      controlPlane.createEndpointConfig({
        configName,
        variantName: spec.variant.name,
        instanceType: spec.variant.instanceType,
        initialInstanceCount: spec.variant.initialInstanceCount,
        inferenceComponents: {
          executionRoleArn: roleArn,
          routingStrategy: spec.variant.routingStrategy,
          managedInstanceScaling: spec.variant.managedInstanceScaling,
        },
        tags,
      }),
    );
    progress.resource('endpointConfigName', configName);

    // The endpoint: created, left alone, or moved to the new config (undo: move it back).
    const before = await controlPlane.describeEndpointStatus({ endpointName });
    if (before.status === 'Failed') {
      throw ApplicationFailure.nonRetryable(
        `Endpoint ${endpointName} exists in status Failed (${before.failureReason ?? 'no reason given'}); tear it down before deploying again`,
        'EndpointFailed',
      );
    }
    let endpointArn = before.endpointArn;
    let action: InferenceComponentsDeployResult['action'];
    if (before.status === 'NotFound' || before.createdBy === runTag) {
      undo.push(`delete endpoint ${endpointName}`, async () => {
        if ((await compensate.deleteEndpoint({ endpointName, ownedBy: runTag })).deleted) await compensate.awaitEndpointDeleted({ endpointName });
      });
      endpointArn = (await progress.step('createEndpoint', () => controlPlane.createEndpoint({ endpointName, configName, tags }))).endpointArn;
      action = 'created';
    } else if (before.configName === configName || before.pendingConfigName === configName) {
      progress.skip('createEndpoint', `endpoint already on ${configName}`);
      action = 'unchanged';
    } else {
      if (before.status !== 'InService')
        throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} is ${before.status}; deploy again once it settles`, 'EndpointBusy');
      const previous = before.configName!;
      undo.push(`roll endpoint ${endpointName} back to ${previous}`, async () => {
        if ((await compensate.updateEndpoint({ endpointName, configName: previous, ifExists: true })).updated)
          await compensate.awaitEndpointInService({ endpointName, expectedConfigName: previous });
      });
      await progress.step('updateEndpoint', () => poll(`Update ${endpointName}`).updateEndpoint({ endpointName, configName }));
      action = 'updated';
    }
    progress.resource('endpointArn', endpointArn!);
    await progress.step('waitForInService', () =>
      waitOrDeadline(`Endpoint ${endpointName}`, () =>
        poll(`Wait for ${endpointName} to be InService`).awaitEndpointInService({ endpointName, expectedConfigName: configName }),
      ),
    );

    // Each component: its state is read once, before anything changes, and kept in history.
    const results: InferenceComponentsDeployResult['components'] = [];
    for (const { component, modelName, shape } of wanted) {
      const name = component.name;
      const now = await controlPlane.describeInferenceComponentStatus({ componentName: name });
      if (now.status !== 'NotFound' && now.endpointName !== endpointName) {
        throw ApplicationFailure.nonRetryable(
          `Inference component ${name} already exists on endpoint ${now.endpointName}; component names are unique per account and region`,
          'ResourceConflict',
        );
      }
      let componentAction: ComponentAction;
      if (now.status === 'NotFound' || now.createdBy === runTag) {
        undo.push(`delete inference component ${name}`, async () => {
          if ((await compensate.deleteInferenceComponent({ componentName: name, ownedBy: runTag })).deleted)
            await compensate.awaitInferenceComponentDeleted({ componentName: name });
        });
        await progress.step(`createInferenceComponent ${name}`, () =>
          controlPlane.createInferenceComponent({
            componentName: name,
            endpointName,
            variantName: spec.variant.name,
            spec: shape,
            copyCount: component.copyCount,
            tags,
          }),
        );
        componentAction = 'created';
      } else if (!now.spec || !sameComponentSpec(now.spec, shape)) {
        const previous = now.spec as ComponentSpecShape;
        const previousCopies = now.desiredCopies;
        undo.push(`roll inference component ${name} back`, async () => {
          if ((await compensate.updateInferenceComponent({ componentName: name, spec: previous, copyCount: previousCopies, ifExists: true })).updated) {
            await compensate.awaitInferenceComponentInService({ componentName: name, expected: previous });
          }
        });
        await progress.step(`updateInferenceComponent ${name}`, () =>
          poll(`Update ${name}`).updateInferenceComponent({
            componentName: name,
            spec: shape,
            copyCount: component.copyCount,
            rollingUpdate: component.rollingUpdate,
          }),
        );
        componentAction = 'updated';
      } else if (!component.autoscaling && now.desiredCopies !== component.copyCount) {
        // With autoscaling the copy count is the scaler's to set; without, the input's.
        const previousCopies = now.desiredCopies ?? component.copyCount;
        undo.push(`set inference component ${name} back to ${previousCopies} copies`, () =>
          compensate.updateInferenceComponentCopyCount({ componentName: name, copyCount: previousCopies, ifExists: true }),
        );
        await progress.step(`updateInferenceComponentCopyCount ${name}`, () =>
          poll(`Copies of ${name}`).updateInferenceComponentCopyCount({ componentName: name, copyCount: component.copyCount }),
        );
        componentAction = 'copiesChanged';
      } else {
        progress.skip(`createInferenceComponent ${name}`, 'component already has this spec');
        componentAction = 'unchanged';
      }
      results.push({ name, action: componentAction, modelName, copies: { desired: component.copyCount } });
    }

    for (const [i, { component, shape }] of wanted.entries()) {
      const name = component.name;
      const ready = await progress.step(`waitForComponent ${name}`, () =>
        waitOrDeadline(`Inference component ${name}`, () =>
          poll(`Wait for ${name} to be InService`).awaitInferenceComponentInService({ componentName: name, expected: shape }),
        ),
      );
      results[i]!.copies = { desired: ready.desiredCopies, current: ready.currentCopies };
      progress.resource(`component ${name}`, `${ready.currentCopies ?? '?'}/${ready.desiredCopies ?? '?'} copies`);
    }

    for (const [i, { component }] of wanted.entries()) {
      const scaling = component.autoscaling;
      const name = component.name;
      if (!scaling) {
        progress.skip(`registerAutoscaling ${name}`, 'no autoscaling for this component');
        continue;
      }
      const resourceId = inferenceComponentResourceId(name);
      // Only a target this run adds is removed on failure: an existing one serves a live component.
      const existed =
        results[i]!.action !== 'created' && (await controlPlane.findScalableTargets({ endpointName, componentNames: [name] })).includes(resourceId);
      if (!existed) undo.push(`deregister autoscaling ${resourceId}`, () => compensate.deregisterAutoscaling({ resourceId }));
      results[i]!.autoscaling = await progress.step(`registerAutoscaling ${name}`, () =>
        controlPlane.registerComponentAutoscaling({ componentName: name, ...scaling }),
      );
    }

    if (spec.smokeTest) {
      const { prompt, maxNewTokens } = spec.smokeTest;
      for (const [i, { component }] of wanted.entries()) {
        if (component.copyCount === 0) {
          progress.skip(`smokeTest ${component.name}`, 'scaled to zero copies');
          continue;
        }
        const out = await progress.step(`smokeTest ${component.name}`, () =>
          invocationActivities().invokeEndpoint({
            endpointName,
            inferenceComponentName: component.name,
            inputs: prompt,
            parameters: { max_new_tokens: maxNewTokens, temperature: 0.7, top_p: 0.9 },
            format: containerFormatOf(component.model),
          }),
        );
        results[i]!.smokeTest = { prompt, generatedText: out.generatedText, latencyMs: out.latencyMs };
      }
    } else {
      progress.skip('smokeTest', 'smokeTest: false');
    }

    // The idle guard outlives this run (parent close policy ABANDON); a lease already watching the
    // endpoint takes the new terms.
    await leaseStep(progress, endpointName, spec, 'ic-endpoint-lease');

    progress.finish('succeeded');
    return {
      endpointName,
      endpointType: 'inferenceComponents',
      endpointArn: endpointArn!,
      action,
      endpointConfigName: configName,
      roleArn,
      components: results,
      timings: progress.timings(),
    };
  } catch (err) {
    return failDeploy(err, { endpointName, retainOnFailure: spec.retainOnFailure, progress, undo });
  }
}
