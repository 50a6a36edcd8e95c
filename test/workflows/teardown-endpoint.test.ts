// teardownEndpoint on the time-skipping test server, with in-memory activities.
import { WorkflowFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { timeSkippingSuite } from '../support/time-skipping-suite.js';
import { createFakeCloud } from './fake-activities.js';

const suite = timeSkippingSuite('teardown-test');

async function run(cloud: ReturnType<typeof createFakeCloud>, workflowType: string, input: unknown) {
  return suite.withWorker(cloud.activities, (taskQueue, n) =>
    suite.env.client.workflow.execute(workflowType, { taskQueue, workflowId: `${workflowType}-${n}`, args: [input] }),
  );
}

const deployInput = {
  endpointName: 'demo',
  model: { image: 'huggingface-pytorch-tgi-inference:local', hfModelId: 'ggml-org/tiny-llamas' },
  variant: { instanceType: 'ml.g5.xlarge' },
  autoscaling: { minInstances: 1, maxInstances: 2, targetInvocationsPerInstance: 100 },
};

describe('teardownEndpoint', () => {
  it('removes scaling, endpoint, configs and models in that order, and a second run is a no-op', async () => {
    const cloud = createFakeCloud();
    await run(cloud, 'deployEndpoint', deployInput);
    cloud.calls.length = 0;

    const first = await run(cloud, 'teardownEndpoint', { endpointName: 'demo' });
    expect(first.deregisteredScalableTargets).toEqual(['endpoint/demo/variant/AllTraffic']);
    expect(first.endpointDeleted).toBe(true);
    expect(first.deletedEndpointConfigs).toHaveLength(1);
    expect(first.deletedModels).toHaveLength(1);
    const order = cloud.calls.map((c) => c.split(' ')[0]).filter((c) => c.startsWith('de') || c === 'awaitEndpointDeleted');
    expect(order).toEqual(['deregisterAutoscaling', 'deleteEndpoint', 'awaitEndpointDeleted', 'deleteEndpointConfig', 'deleteModel']);
    expect(cloud.endpoints.size + cloud.configs.size + cloud.models.size + cloud.targets.size).toBe(0);

    const second = await run(cloud, 'teardownEndpoint', { endpointName: 'demo' });
    expect(second).toMatchObject({ deregisteredScalableTargets: [], endpointDeleted: false, deletedEndpointConfigs: [], deletedModels: [] });
  });

  it('cleans up after a half-finished deploy that never created the endpoint', async () => {
    const cloud = createFakeCloud();
    cloud.models.set('demo-m-00000001', { runTag: 'deploy-demo/run-1', image: 'x' });
    cloud.configs.set('demo-c-00000001', { runTag: 'deploy-demo/run-1', modelName: 'demo-m-00000001' });
    cloud.targets.add('endpoint/demo/variant/AllTraffic');
    const result = await run(cloud, 'teardownEndpoint', { endpointName: 'demo' });
    expect(result).toMatchObject({
      endpointDeleted: false,
      deletedEndpointConfigs: ['demo-c-00000001'],
      deletedModels: ['demo-m-00000001'],
      deregisteredScalableTargets: ['endpoint/demo/variant/AllTraffic'],
    });
    expect(cloud.models.size + cloud.configs.size + cloud.targets.size).toBe(0);
  });

  it('leaves other endpoints alone', async () => {
    const cloud = createFakeCloud();
    await run(cloud, 'deployEndpoint', { ...deployInput, endpointName: 'other' });
    await run(cloud, 'deployEndpoint', deployInput);
    await run(cloud, 'teardownEndpoint', { endpointName: 'demo' });
    expect([...cloud.endpoints.keys()]).toEqual(['other']);
    expect(cloud.models.size).toBe(1);
    expect([...cloud.targets]).toEqual(['endpoint/other/variant/AllTraffic']);
  });

  it('rejects a bad endpoint name before any activity', async () => {
    const cloud = createFakeCloud();
    const err = await run(cloud, 'teardownEndpoint', { endpointName: '-nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause?.message).toMatch(/^Invalid teardownEndpoint input: endpointName: must match/);
    expect(cloud.calls).toEqual([]);
  });

  it('finding 6: refuses an endpoint this project did not create, unless force is set', async () => {
    const cloud = createFakeCloud();
    cloud.endpoints.set('demo', { configName: 'theirs', status: 'InService', pollsLeft: 0 });
    cloud.targets.add('endpoint/demo/variant/AllTraffic');
    const err = await run(cloud, 'teardownEndpoint', { endpointName: 'demo' }).catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause?.message).toMatch(/Endpoint demo was not created by this project .*nothing was deleted\. Pass force: true/);
    expect(cloud.endpoints.has('demo')).toBe(true);
    expect(cloud.targets.size).toBe(1);

    const forced = await run(cloud, 'teardownEndpoint', { endpointName: 'demo', force: true });
    expect(forced).toMatchObject({ endpointDeleted: true, deregisteredScalableTargets: ['endpoint/demo/variant/AllTraffic'] });
    expect(cloud.endpoints.size + cloud.targets.size).toBe(0);
  });

  it('finding 6: refuses to run while a deploy of the same endpoint runs', async () => {
    const cloud = createFakeCloud();
    await run(cloud, 'deployEndpoint', deployInput);
    cloud.running.add('deploy-demo');
    cloud.calls.length = 0;
    const err = await run(cloud, 'teardownEndpoint', { endpointName: 'demo' }).catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause?.message).toMatch(/^Teardown of endpoint demo refused: workflow deploy-demo \(run run-1\) is running/);
    expect(cloud.calls).toEqual(['runningWorkflow deploy-demo']);
    expect(cloud.endpoints.size).toBe(1);
  });

  it('finding 2: an endpoint still Creating is deleted once AWS allows it, not given up on', async () => {
    const cloud = createFakeCloud({ pollsBeforeReady: 20 });
    await run(cloud, 'deployEndpoint', {
      ...deployInput,
      smokeTest: false,
      retainOnFailure: true,
      timeouts: { inServiceMinutes: 1, pollIntervalSeconds: 10 },
    }).catch(() => undefined);
    expect(cloud.endpoints.get('demo')?.status).toBe('Creating');
    const result = await run(cloud, 'teardownEndpoint', { endpointName: 'demo' });
    expect(result.endpointDeleted).toBe(true);
    expect(cloud.endpoints.size + cloud.configs.size + cloud.models.size).toBe(0);
  });
});
