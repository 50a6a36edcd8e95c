// deployEndpoint and teardownEndpoint for inference-component endpoints, on the time-skipping
// test server with in-memory activities that behave like AWS for ICs (fake-activities.ts).
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { deployEndpointInputSchema, type InferenceComponentsDeployInput, type InferenceComponentsDeploySpec } from '../../common/endpoint-input.js';
import type { InferenceComponentsDeployResult } from '../../workflows/deploy-inference-components.js';
import type { Progress } from '../../workflows/progress.js';
import { timeSkippingSuite } from '../support/time-skipping-suite.js';
import { createFakeCloud, type FakeBehaviour } from './fake-activities.js';

const suite = timeSkippingSuite('ic-test');
/** Numbers the workflow ids of this file's runs. */
let counter = 0;

const model = (hfModelId: string) => ({ image: 'huggingface-pytorch-tgi-inference:local', hfModelId, numGpus: 0 });
const icInput = (overrides: Partial<InferenceComponentsDeployInput> = {}): InferenceComponentsDeployInput => ({
  endpointType: 'inferenceComponents',
  endpointName: 'demo-ic',
  variant: { instanceType: 'ml.m5.xlarge', managedInstanceScaling: { minInstanceCount: 1, maxInstanceCount: 2 } },
  components: [
    {
      name: 'demo-ic-llm',
      model: model('ggml-org/tiny-llamas'),
      compute: { numberOfCpuCoresRequired: 1, minMemoryRequiredInMb: 1024 },
      copyCount: 2,
      autoscaling: { minCopies: 1, maxCopies: 4, targetValue: 5 },
    },
    { name: 'demo-ic-small', model: model('ggml-org/models'), compute: { numberOfCpuCoresRequired: 1, minMemoryRequiredInMb: 512 }, copyCount: 1 },
  ],
  timeouts: { inServiceMinutes: 60, pollIntervalSeconds: 10 },
  ...overrides,
});

async function withWorker<T>(cloud: ReturnType<typeof createFakeCloud>, body: (taskQueue: string) => Promise<T>): Promise<T> {
  return suite.withWorker(cloud.activities, body);
}

const deploy = (taskQueue: string, input: unknown): Promise<WorkflowHandle> =>
  suite.env.client.workflow.start('deployEndpoint', { taskQueue, workflowId: `deploy-ic-${++counter}`, args: [input] });

async function failureOf(handle: WorkflowHandle): Promise<Error> {
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause as Error;
}

async function deployed(cloud: ReturnType<typeof createFakeCloud>, input: unknown = icInput()) {
  return withWorker(cloud, async (tq) => {
    const h = await deploy(tq, input);
    return {
      result: (await h.result()) as InferenceComponentsDeployResult,
      progress: await h.query<Progress>('progress'),
      history: (await h.fetchHistory()).events?.length ?? 0,
    };
  });
}

const empty = (cloud: ReturnType<typeof createFakeCloud>) =>
  cloud.components.size + cloud.endpoints.size + cloud.configs.size + cloud.models.size + cloud.targets.size;

describe('deployEndpoint with inference components', () => {
  it('deploys two components on one endpoint: models, config, endpoint, components, scaling, smoke tests through each', async () => {
    const cloud = createFakeCloud({ pollsBeforeReady: 2 });
    const { result, progress } = await deployed(cloud);
    expect(result.endpointType).toBe('inferenceComponents');
    expect(result.action).toBe('created');
    expect(result.components.map((c) => [c.name, c.action, c.copies])).toEqual([
      ['demo-ic-llm', 'created', { desired: 2, current: 2 }],
      ['demo-ic-small', 'created', { desired: 1, current: 1 }],
    ]);
    expect(result.components[0]!.autoscaling?.resourceId).toBe('inference-component/demo-ic-llm');
    expect(result.components[1]!.autoscaling).toBeUndefined();
    expect(result.components.map((c) => c.smokeTest?.generatedText)).toEqual([
      expect.stringContaining('Once upon a time'),
      expect.stringContaining('Once upon a time'),
    ]);
    const [llmModel, smallModel] = result.components.map((c) => c.modelName);
    expect(llmModel).not.toBe(smallModel);
    expect(cloud.calls.filter((c) => !c.startsWith('await') && !c.startsWith('describe'))).toEqual([
      'runningWorkflow teardown-demo-ic',
      'ensureExecutionRole',
      `createModel ${llmModel}`,
      `createModel ${smallModel}`,
      `createEndpointConfig ${result.endpointConfigName}`,
      'createEndpoint demo-ic',
      'createInferenceComponent demo-ic-llm',
      'createInferenceComponent demo-ic-small',
      'registerComponentAutoscaling demo-ic-llm',
      'invokeEndpoint demo-ic-llm',
      'invokeEndpoint demo-ic-small',
    ]);
    // The config carries no model: the models are on the components.
    expect(cloud.configs.get(result.endpointConfigName)?.modelName).toBeUndefined();
    expect(progress.status).toBe('succeeded');
    expect(progress.resources).toMatchObject({ 'component demo-ic-llm': '2/2 copies', 'component demo-ic-small': '1/1 copies' });
  });

  it('refuses, before any call, components that do not fit the instance, repeated names and copyCount 0 without scale to zero', async () => {
    const cloud = createFakeCloud();
    const [llm, small] = icInput().components;
    const bad = icInput({
      variant: { instanceType: 'ml.m5.large' },
      components: [
        { ...llm!, compute: { numberOfCpuCoresRequired: 4, numberOfAcceleratorDevicesRequired: 1, minMemoryRequiredInMb: 16384 } },
        { ...small!, name: 'demo-ic-llm', copyCount: 0 },
        { ...small!, name: 'bad_name' },
      ],
    });
    const err = await withWorker(cloud, async (tq) => failureOf(await deploy(tq, bad)));
    expect(err.message).toContain(
      'components.0.compute: must fit one ml.m5.large instance: a copy asks for 4 CPU cores (the instance has 2), 1 accelerator devices (the instance has 0), 16384 MB of memory (the instance has 8192)',
    );
    expect(err.message).toContain('components.1.name: repeats component name demo-ic-llm');
    expect(err.message).toContain('components.1.copyCount: must be at least 1');
    expect(err.message).toContain('components.2.name: must match ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$');
    expect(cloud.calls).toEqual([]);
  });

  it('accepts copyCount 0 when scale to zero is asked for (autoscaling.minCopies 0) and skips its smoke test', async () => {
    const cloud = createFakeCloud();
    const [llm] = icInput().components;
    const { result } = await deployed(cloud, icInput({ components: [{ ...llm!, copyCount: 0, autoscaling: { minCopies: 0, maxCopies: 2, targetValue: 5 } }] }));
    expect(result.components[0]!.copies).toEqual({ desired: 0, current: 0 });
    expect(cloud.calls).not.toContain('invokeEndpoint demo-ic-llm');
  });

  it('scaleToZero: minCopies 0, managed instance scaling down to 0, the wake-from-zero policy and alarm; teardown removes them', async () => {
    const cloud = createFakeCloud();
    const [llm] = icInput().components;
    const input = icInput({
      variant: { instanceType: 'ml.m5.xlarge' },
      components: [{ ...llm!, copyCount: 1, autoscaling: { scaleToZero: true, maxCopies: 3, targetValue: 5 } }],
    });
    const spec = deployEndpointInputSchema.parse(input) as InferenceComponentsDeploySpec;
    expect(spec.variant.managedInstanceScaling).toEqual({ minInstanceCount: 0, maxInstanceCount: 1 });
    expect(spec.components[0]!.autoscaling).toMatchObject({ scaleToZero: true, minCopies: 0, maxCopies: 3 });
    const { result } = await deployed(cloud, input);
    expect(result.components[0]!.autoscaling).toMatchObject({ wakeFromZero: { alarmName: 'demo-ic-llm-no-capacity' } });
    expect([...cloud.alarms.keys()]).toEqual(['demo-ic-llm-no-capacity']);
    expect(cloud.policies.get('inference-component/demo-ic-llm')).toEqual(['demo-ic-llm-per-copy', 'demo-ic-llm-wake-from-zero']);
    await withWorker(cloud, (taskQueue) =>
      suite.env.client.workflow.execute('teardownEndpoint', { taskQueue, workflowId: `teardown-ic-${++counter}`, args: [{ endpointName: 'demo-ic' }] }),
    );
    expect(cloud.alarms.size + cloud.policies.size + empty(cloud)).toBe(0);
  });

  it('refuses scaleToZero that the input contradicts, naming the field', async () => {
    const [llm] = icInput().components;
    const issues = (input: unknown) => deployEndpointInputSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(issues(icInput({ components: [{ ...llm!, autoscaling: { scaleToZero: true, minCopies: 1, maxCopies: 3, targetValue: 5 } }] }))).toEqual([
      'components.0.autoscaling.minCopies: must be 0 or left out with scaleToZero: true (scale to zero means no copy at all)',
      'variant.managedInstanceScaling.minInstanceCount: must be 0 when a component scales to zero (components.0.autoscaling.scaleToZero), so its instances go with its copies',
    ]);
    expect(issues(icInput({ components: [{ ...llm!, autoscaling: { maxCopies: 3, targetValue: 5 } }] }))).toEqual([
      'components.0.autoscaling.minCopies: is required (or set scaleToZero: true, which implies 0)',
    ]);
  });

  it('refuses idle scaleToZero on a component whose autoscaling keeps copies, naming the field', async () => {
    const cloud = createFakeCloud();
    const err = await withWorker(cloud, async (tq) => failureOf(await deploy(tq, icInput({ idle: { afterMinutes: 60, action: 'scaleToZero' } }))));
    expect(err.message).toContain(
      'components.0.autoscaling.minCopies: must be 0 (or scaleToZero: true) when idle.action is "scaleToZero": autoscaling would bring the copies back to minCopies',
    );
    expect(cloud.calls).toEqual([]);
    const teardownTtl = deployEndpointInputSchema.safeParse(icInput({ ttl: { hours: 24 }, warnMinutesBefore: 5000 }));
    expect(teardownTtl.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'warnMinutesBefore: must be less than the shortest lease window (1440 minutes)',
    ]);
  });

  it('undoes everything, components first, and names the FailureReason when a component fails', async () => {
    const reason = 'The container for inference component demo-ic-small did not pass the ping health check.';
    const cloud = createFakeCloud({ pollsBeforeReady: 1, componentFailWith: { 'demo-ic-small': reason } });
    const err = await withWorker(cloud, async (tq) => failureOf(await deploy(tq, icInput())));
    expect(err.message).toContain(`failed at step waitForComponent demo-ic-small: Inference component demo-ic-small failed: ${reason}`);
    expect(err.message).toMatch(
      /rolled back: delete inference component demo-ic-small, delete inference component demo-ic-llm, delete endpoint demo-ic, delete endpoint config demo-ic-c-\w+, delete model/,
    );
    const undo = cloud.calls.slice(cloud.calls.findIndex((c) => c.startsWith('delete'))).filter((c) => c.startsWith('delete'));
    expect(undo.map((c) => c.split(' ')[0])).toEqual([
      'deleteInferenceComponent',
      'deleteInferenceComponent',
      'deleteEndpoint',
      'deleteEndpointConfig',
      'deleteModel',
      'deleteModel',
    ]);
    expect(empty(cloud)).toBe(0);
  });

  it('changes only the copy count with UpdateInferenceComponentRuntimeConfig when the spec is the same', async () => {
    const cloud = createFakeCloud({ pollsBeforeReady: 1 });
    await deployed(cloud);
    cloud.calls.length = 0;
    const input = icInput();
    input.components[1]!.copyCount = 3;
    const { result } = await deployed(cloud, input);
    expect(result.action).toBe('unchanged');
    expect(result.components.map((c) => [c.name, c.action, c.copies])).toEqual([
      ['demo-ic-llm', 'unchanged', { desired: 2, current: 2 }],
      ['demo-ic-small', 'copiesChanged', { desired: 3, current: 3 }],
    ]);
    expect(cloud.calls).toContain('updateInferenceComponentCopyCount demo-ic-small 3');
    expect(cloud.calls.some((c) => c.startsWith('updateInferenceComponent '))).toBe(false);
    expect(cloud.calls.some((c) => c.startsWith('create') && !c.startsWith('createModel') && !c.startsWith('createEndpointConfig'))).toBe(false);
  });

  it('updates a changed spec with a rolling update, and fails with the reason when SageMaker rolls it back, keeping the live component', async () => {
    const behaviour: FakeBehaviour = { pollsBeforeReady: 1 };
    const cloud = createFakeCloud(behaviour);
    await deployed(cloud);

    // A spec change that succeeds: a rolling update, the component ends on the new spec.
    const bigger = icInput();
    bigger.components[0]!.compute.minMemoryRequiredInMb = 2048;
    bigger.components[0]!.rollingUpdate = { maximumBatchSize: { type: 'COPY_COUNT', value: 1 }, waitIntervalInSeconds: 30 };
    const { result } = await deployed(cloud, bigger);
    expect(result.components[0]!.action).toBe('updated');
    expect(cloud.components.get('demo-ic-llm')!.spec.compute.minMemoryRequiredInMb).toBe(2048);

    // The next one SageMaker rolls back (an alarm fired): the deploy fails and says why.
    behaviour.componentUpdateRollbackWith = 'Rolled back: alarm demo-ic-errors went into ALARM state';
    const rolled = icInput();
    rolled.components[0]!.compute.minMemoryRequiredInMb = 4096;
    const err = await withWorker(cloud, async (tq) => failureOf(await deploy(tq, rolled)));
    expect(err.message).toContain('Update of inference component demo-ic-llm was rolled back');
    expect(err.message).toContain('alarm demo-ic-errors went into ALARM state');
    const live = cloud.components.get('demo-ic-llm')!;
    expect(live.status).toBe('InService');
    expect(live.spec.compute.minMemoryRequiredInMb).toBe(2048);
    expect(cloud.endpoints.get('demo-ic')?.status).toBe('InService');
    // The undo had nothing to put back: SageMaker already had (the live spec is the last good one).
    expect(err.message).toContain('rolled back: roll inference component demo-ic-llm back');
  });

  it('waits an hour for components at the same history cost as one poll', async () => {
    const input = icInput({ timeouts: { inServiceMinutes: 240, pollIntervalSeconds: 10 } });
    const short = await deployed(createFakeCloud({ pollsBeforeReady: 1 }), input);
    const longCloud = createFakeCloud({ pollsBeforeReady: 360 }); // 360 × 10 s per wait
    const long = await deployed(longCloud, input);
    expect(longCloud.polls()).toBeGreaterThan(3 * 360);
    expect(long.history).toBe(short.history);
  });
});

describe('teardownEndpoint of an inference-component endpoint', () => {
  it('removes component scaling, components (until gone), endpoint, config and models, after a half-finished deploy too', async () => {
    const cloud = createFakeCloud({ pollsBeforeReady: 1, componentFailWith: { 'demo-ic-small': 'out of capacity' } });
    await withWorker(cloud, async (tq) => failureOf(await deploy(tq, icInput({ retainOnFailure: true }))));
    expect(cloud.components.get('demo-ic-small')?.status).toBe('Failed');
    // As if the deploy had got as far as scaling the first component; another endpoint's stays.
    cloud.targets.add('inference-component/demo-ic-llm');
    cloud.targets.add('inference-component/other-ic');
    cloud.calls.length = 0;

    const torn = await withWorker(cloud, (taskQueue) =>
      suite.env.client.workflow.execute('teardownEndpoint', { taskQueue, workflowId: `teardown-ic-${++counter}`, args: [{ endpointName: 'demo-ic' }] }),
    );
    expect(torn.deletedInferenceComponents.sort()).toEqual(['demo-ic-llm', 'demo-ic-small']);
    expect(torn.deregisteredScalableTargets).toEqual(['inference-component/demo-ic-llm']);
    expect(torn.endpointDeleted).toBe(true);
    const order = cloud.calls.map((c) => c.split(' ')[0]).filter((c) => /^(deregister|delete)/.test(c));
    expect(order).toEqual([
      'deregisterAutoscaling',
      'deleteInferenceComponent',
      'deleteInferenceComponent',
      'deleteEndpoint',
      'deleteEndpointConfig',
      'deleteModel',
      'deleteModel',
    ]);
    expect([...cloud.targets]).toEqual(['inference-component/other-ic']);
    cloud.targets.clear();
    expect(empty(cloud)).toBe(0);

    const again = await withWorker(cloud, (taskQueue) =>
      suite.env.client.workflow.execute('teardownEndpoint', { taskQueue, workflowId: `teardown-ic-${++counter}`, args: [{ endpointName: 'demo-ic' }] }),
    );
    expect(again).toMatchObject({ deletedInferenceComponents: [], endpointDeleted: false, deletedModels: [] });
  });
});
