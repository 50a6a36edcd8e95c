// teardownEndpoint: removes everything a deploy of this endpoint may have left, in the order
// AWS needs: scaling policies and targets → endpoint → (wait until gone) → configs → models.
// Every step treats "not found" as done, so running it twice, or after a half-finished
// deploy, is fine. The shared execution role is kept: it costs nothing and others use it.
import { ApplicationFailure } from '@temporalio/workflow';
import { teardownEndpointInputSchema, type TeardownEndpointInput } from '../common/endpoint-input';
import { controlPlaneActivities, pollingActivities } from './activity-proxies';
import { isDeadline, reasonOf } from './failures';
import { ProgressTracker } from './progress';
import { tagWithEndpointName, validateInput } from './workflow-input';

export interface TeardownEndpointResult {
  endpointName: string;
  deregisteredScalableTargets: string[];
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

  try {
    const found = await progress.step(
      'findResources',
      () => controlPlane.findEndpointResources({ endpointName }),
      (r) => `endpoint ${r.endpoint?.status ?? 'absent'}, ${r.configNames.length} configs, ${r.modelNames.length} models`,
    );
    const targets = await progress.step('findScalableTargets', () => controlPlane.findScalableTargets({ endpointName }));

    for (const resourceId of targets) {
      await progress.step(`deregisterAutoscaling ${resourceId}`, () => controlPlane.deregisterAutoscaling({ resourceId }));
    }

    let endpointDeleted = false;
    if (found.endpoint) {
      progress.resource('endpointArn', found.endpoint.arn);
      endpointDeleted = (await progress.step('deleteEndpoint', () => controlPlane.deleteEndpoint({ endpointName }))).deleted;
    } else {
      progress.skip('deleteEndpoint', 'endpoint does not exist');
    }
    try {
      await progress.step('waitForDeleted', () =>
        pollingActivities({
          deadlineMs: spec.timeouts.deletedMinutes * 60_000,
          pollIntervalMs: spec.timeouts.pollIntervalSeconds * 1000,
          summary: `Wait for ${endpointName} to be deleted`,
        }).awaitEndpointDeleted({ endpointName }),
      );
    } catch (err) {
      if (!isDeadline(err)) throw err;
      throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} was not deleted within ${spec.timeouts.deletedMinutes} minutes`, 'DeadlineExceeded');
    }

    // Only configs and models our deploys tagged are deleted: untagged ones are not ours.
    const deletedEndpointConfigs: string[] = [];
    for (const configName of found.configNames) {
      if ((await progress.step(`deleteEndpointConfig ${configName}`, () => controlPlane.deleteEndpointConfig({ configName }))).deleted) deletedEndpointConfigs.push(configName);
    }
    const deletedModels: string[] = [];
    for (const modelName of found.modelNames) {
      if ((await progress.step(`deleteModel ${modelName}`, () => controlPlane.deleteModel({ modelName }))).deleted) deletedModels.push(modelName);
    }

    progress.finish('succeeded');
    return { endpointName, deregisteredScalableTargets: targets, endpointDeleted, deletedEndpointConfigs, deletedModels, timings: progress.timings() };
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
