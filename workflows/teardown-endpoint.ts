// teardownEndpoint: removes everything a deploy of this endpoint may have left, in the order
// AWS needs: scaling policies and targets (the variant's and each inference component's) →
// inference components (deleted, waited until gone: AWS refuses to delete an endpoint that
// still hosts one) → endpoint → (wait until gone) → configs → models.
// Every step treats "not found" as done, so running it twice, or after a half-finished
// deploy, is fine. The shared execution role is kept: it costs nothing and others use it.
// Only what this project made is touched: an endpoint without our created-by tag is refused
// unless `force: true` (configs and models are found by our endpoint tag in the first place).
// A teardown never runs alongside a deploy of the same endpoint (endpoint-exclusion.ts), and
// an endpoint still Creating or Updating is deleted as soon as AWS allows it.
import { ApplicationFailure, patched, workflowInfo } from '@temporalio/workflow';
import { teardownEndpointInputSchema, type TeardownEndpointInput } from '../common/endpoint-input.js';
import { deployWorkflowId } from '../common/resource-names.js';
import { controlPlaneActivities, pollingActivities } from './activity-proxies.js';
import { refuseWhileRunning } from './endpoint-exclusion.js';
import { isDeadline, reasonOf } from './failures.js';
import { endEndpointLease } from './endpoint-lease.js';
import { ProgressTracker } from './progress.js';
import { validateInput } from '../common/input-parsing.js';
import { tagWithEndpointName } from './endpoint-search-attribute.js';

export interface TeardownEndpointResult {
  endpointName: string;
  deregisteredScalableTargets: string[];
  deletedInferenceComponents: string[];
  endpointDeleted: boolean;
  deletedEndpointConfigs: string[];
  deletedModels: string[];
  timings: Record<string, number>;
}

export async function teardownEndpoint(rawInput: TeardownEndpointInput): Promise<TeardownEndpointResult> {
  const spec = validateInput(teardownEndpointInputSchema, 'teardownEndpoint', rawInput);
  const { endpointName } = spec;
  tagWithEndpointName(endpointName);
  const progress = new ProgressTracker('teardownEndpoint', endpointName);
  const controlPlane = controlPlaneActivities();
  // Runs started before ownership and exclusion replay without them.
  const guarded = patched('teardown-ownership-v2');
  const waitForDeleted = pollingActivities({
    deadlineMs: spec.timeouts.deletedMinutes * 60_000,
    pollIntervalMs: spec.timeouts.pollIntervalSeconds * 1000,
    summary: `Wait for ${endpointName} to be deleted`,
  });
  if (guarded) await refuseWhileRunning(controlPlane, deployWorkflowId(endpointName), `Teardown of endpoint ${endpointName}`);
  // The endpoint's idle guard ends with it (nothing to end is fine; a lease running this very
  // teardown ignores the signal). Runs started before the lease existed replay without it.
  if (patched('endpoint-lease')) await progress.step('endLease', () => endEndpointLease(endpointName, `torn down by ${workflowInfo().workflowId}`));

  try {
    const found = await progress.step(
      'findResources',
      () => controlPlane.findEndpointResources({ endpointName }),
      (r) => `endpoint ${r.endpoint?.status ?? 'absent'}, ${r.configNames.length} configs, ${r.modelNames.length} models`,
    );
    if (guarded && found.endpoint && !found.endpoint.createdBy && !spec.force) {
      throw ApplicationFailure.nonRetryable(
        `Endpoint ${endpointName} was not created by this project (it has no llmops:created-by-run tag); nothing was deleted. Pass force: true to delete it and its scaling anyway`,
        'NotOwnedByProject',
      );
    }
    // Runs started before inference components replay without looking for them.
    const componentNames =
      found.endpoint && patched('teardown-inference-components')
        ? await progress.step('findInferenceComponents', () => controlPlane.listInferenceComponents({ endpointName }))
        : [];
    const targets = await progress.step('findScalableTargets', () => controlPlane.findScalableTargets({ endpointName, componentNames }));

    for (const resourceId of targets) {
      await progress.step(`deregisterAutoscaling ${resourceId}`, () => controlPlane.deregisterAutoscaling({ resourceId }));
    }

    const deletedInferenceComponents: string[] = [];
    for (const componentName of componentNames) {
      // As a poll: AWS refuses to delete a component while it is Creating or Updating.
      if ((await progress.step(`deleteInferenceComponent ${componentName}`, () => waitForDeleted.deleteInferenceComponent({ componentName }))).deleted)
        deletedInferenceComponents.push(componentName);
      try {
        await progress.step(`waitForComponentDeleted ${componentName}`, () => waitForDeleted.awaitInferenceComponentDeleted({ componentName }));
      } catch (err) {
        if (!isDeadline(err)) throw err;
        throw ApplicationFailure.nonRetryable(
          `Inference component ${componentName} was not deleted within ${spec.timeouts.deletedMinutes} minutes`,
          'DeadlineExceeded',
        );
      }
    }

    let endpointDeleted = false;
    if (found.endpoint) {
      progress.resource('endpointArn', found.endpoint.arn);
      // As a poll: AWS refuses to delete an endpoint while it is Creating or Updating.
      endpointDeleted = (await progress.step('deleteEndpoint', () => (guarded ? waitForDeleted : controlPlane).deleteEndpoint({ endpointName }))).deleted;
    } else {
      progress.skip('deleteEndpoint', 'endpoint does not exist');
    }
    try {
      await progress.step('waitForDeleted', () => waitForDeleted.awaitEndpointDeleted({ endpointName }));
    } catch (err) {
      if (!isDeadline(err)) throw err;
      throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} was not deleted within ${spec.timeouts.deletedMinutes} minutes`, 'DeadlineExceeded');
    }

    // Only configs and models our deploys tagged are deleted: untagged ones are not ours.
    const deletedEndpointConfigs: string[] = [];
    for (const configName of found.configNames) {
      if ((await progress.step(`deleteEndpointConfig ${configName}`, () => controlPlane.deleteEndpointConfig({ configName }))).deleted)
        deletedEndpointConfigs.push(configName);
    }
    const deletedModels: string[] = [];
    for (const modelName of found.modelNames) {
      if ((await progress.step(`deleteModel ${modelName}`, () => controlPlane.deleteModel({ modelName }))).deleted) deletedModels.push(modelName);
    }

    progress.finish('succeeded');
    return {
      endpointName,
      deregisteredScalableTargets: targets,
      deletedInferenceComponents,
      endpointDeleted,
      deletedEndpointConfigs,
      deletedModels,
      timings: progress.timings(),
    };
  } catch (err) {
    progress.finish('failed', reasonOf(err));
    throw ApplicationFailure.create({
      message: `Teardown of endpoint ${endpointName} failed at step ${progress.snapshot().step}: ${reasonOf(err)}`,
      type: 'TeardownFailed',
      nonRetryable: true,
      details: [progress.snapshot()],
    });
  }
}
