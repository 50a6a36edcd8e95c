// deployEndpoint updates with a rollout policy (issue 14), on the time-skipping test server with
// the in-memory cloud: the DeploymentConfig sent, the rollout followed through the `progress`
// query, SageMaker's alarm rollback and a rollout past its deadline failing the deploy with
// nothing of the new version left, and bad policies refused before any activity.
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import type { DeployEndpointInput } from '../../common/endpoint-input.js';
import type { Progress } from '../../workflows/progress.js';
import { timeSkippingSuite } from '../support/time-skipping-suite.js';
import { createFakeCloud, type FakeBehaviour } from './fake-activities.js';

const suite = timeSkippingSuite('rollout-test');

const v1 = (overrides: Partial<DeployEndpointInput> = {}): DeployEndpointInput => ({
  endpointName: 'demo',
  model: { image: 'huggingface-pytorch-tgi-inference:local', hfModelId: 'ggml-org/tiny-llamas' },
  variant: { instanceType: 'ml.g5.xlarge', initialInstanceCount: 2 },
  timeouts: { inServiceMinutes: 30, pollIntervalSeconds: 10 },
  ...overrides,
});
/** The same endpoint on another model: a new model and config, an update of the endpoint. */
const v2 = (rollout: DeployEndpointInput['rollout'], overrides: Partial<DeployEndpointInput> = {}) =>
  v1({ model: { image: 'huggingface-pytorch-tgi-inference:local', hfModelId: 'ggml-org/tiny-llamas-v2' }, rollout, ...overrides });

const canary = { type: 'canary', canarySize: { type: 'INSTANCE_COUNT', value: 1 }, waitIntervalSeconds: 120, alarms: 'create' } as const;

async function withWorker<T>(cloud: ReturnType<typeof createFakeCloud>, run: (taskQueue: string) => Promise<T>): Promise<T> {
  return suite.withWorker(cloud.activities, run);
}

const deploy = (taskQueue: string, input: unknown): Promise<WorkflowHandle> =>
  suite.env.client.workflow.start('deployEndpoint', { taskQueue, workflowId: `deploy-${Math.random()}`, args: [input] });

async function failureOf(handle: WorkflowHandle): Promise<Error> {
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause as Error;
}

/** Nothing of v2 is left: the endpoint is on v1's config, only v1's model and config exist, no alarms. */
function expectOnlyV1(cloud: ReturnType<typeof createFakeCloud>, first: { endpointConfigName: string; modelName: string }) {
  expect(cloud.endpoints.get('demo')).toMatchObject({ status: 'InService', configName: first.endpointConfigName });
  expect([...cloud.configs.keys()]).toEqual([first.endpointConfigName]);
  expect([...cloud.models.keys()]).toEqual([first.modelName]);
  expect([...cloud.alarms.keys()]).toEqual([]);
}

describe('deployEndpoint with a rollout policy', () => {
  it('a canary update sends its DeploymentConfig with created alarms, is followed step by step in progress, and removes the alarms', async () => {
    // Before each look at the rollout the fake lets the test read the progress query, so every
    // stage the workflow took in is seen, however loaded the machine.
    const seen: NonNullable<Progress['rollout']>[] = [];
    let watched: WorkflowHandle | undefined;
    const cloud = createFakeCloud({
      beforeRolloutLook: async () => {
        const p = await watched?.query<Progress>('progress');
        if (p?.rollout && p.rollout.changes !== seen.at(-1)?.changes) seen.push(p.rollout);
      },
    });
    const { result, final } = await withWorker(cloud, async (tq) => {
      await (await deploy(tq, v1())).result();
      watched = await deploy(tq, v2(canary, { timeouts: { inServiceMinutes: 30, pollIntervalSeconds: 0.1 } }));
      return { result: await watched.result(), final: await watched.query<Progress>('progress') };
    });
    expect(result.action).toBe('updated');
    const config = cloud.lastDeploymentConfig.get('demo')!;
    expect(config.BlueGreenUpdatePolicy?.TrafficRoutingConfiguration).toEqual({
      Type: 'CANARY',
      CanarySize: { Type: 'INSTANCE_COUNT', Value: 1 },
      WaitIntervalInSeconds: 120,
    });
    const alarmNames = (config.AutoRollbackConfiguration?.Alarms ?? []).map((a) => a.AlarmName);
    expect(alarmNames).toEqual([
      `llmops-rollout-demo-${result.endpointConfigName}-Invocation5XXErrors`,
      `llmops-rollout-demo-${result.endpointConfigName}-ModelLatency`,
    ]);
    // Every change reached the query: the canary's share, then all traffic, then done.
    expect(final.rollout).toMatchObject({ policy: 'canary', stage: 'InService', status: 'InService', configName: result.endpointConfigName });
    expect(final.rollout!.changes).toBe(6); // ActivatingTraffic and Baking at 50 %, at 100 %, old fleet Deleting, InService
    expect(seen.some((r) => r.stage === 'Baking' && r.newFleetTrafficPercent === 50)).toBe(true);
    expect(seen.every((r) => Object.keys(r.alarms).length === 2)).toBe(true);
    expect(final.steps.map((s) => s.name)).toEqual(expect.arrayContaining(['createRolloutAlarms', 'followRollout', 'removeRolloutAlarms']));
    expect(final.steps.some((s) => s.name === 'waitForInService')).toBe(false);
    expect(cloud.alarms.size).toBe(0);
    expect(cloud.endpoints.get('demo')?.configName).toBe(result.endpointConfigName);
  });

  it('a long bake costs no more history than a short one', async () => {
    const historyOf = async (behaviour: FakeBehaviour) => {
      const cloud = createFakeCloud(behaviour);
      return withWorker(cloud, async (tq) => {
        await (await deploy(tq, v1())).result();
        const h = await deploy(tq, v2(canary));
        await h.result();
        return { events: (await h.fetchHistory()).events?.length ?? 0, polls: cloud.polls() };
      });
    };
    const short = await historyOf({});
    const long = await historyOf({ rolloutStallLooks: 100 });
    expect(long.polls - short.polls).toBe(100);
    expect(long.events).toBe(short.events);
  });

  it("SageMaker's alarm rollback fails the deploy with its FailureReason, and compensation leaves nothing of the new version", async () => {
    const behaviour: FakeBehaviour = {};
    const cloud = createFakeCloud(behaviour);
    const { first, err, progress } = await withWorker(cloud, async (tq) => {
      const first = await (await deploy(tq, v1())).result();
      behaviour.rolloutAlarmAt = 'Baking';
      const handle = await deploy(tq, v2(canary));
      return { first, err: await failureOf(handle), progress: await handle.query<Progress>('progress') };
    });
    expect(err.message).toContain('failed at step followRollout');
    expect(err.message).toMatch(
      /rolled back to .*: Deployment was rolled back because the alarm llmops-rollout-demo-.*-Invocation5XXErrors was in ALARM state/,
    );
    expect(progress.rollout).toMatchObject({ status: 'RollingBack' });
    expect(Object.values(progress.rollout!.alarms)).toContain('ALARM');
    expect(progress.status).toBe('failed');
    expectOnlyV1(cloud, first);
    // SageMaker already rolled back: the saga needed no second update.
    expect(
      cloud.calls.filter((c) => c.startsWith('updateEndpoint')).every((c) => c.endsWith(first.endpointConfigName) || !c.includes(first.endpointConfigName)),
    ).toBe(true);
  });

  it('a rollout past its deadline fails the deploy, and compensation waits it out and moves the endpoint back to v1', async () => {
    const behaviour: FakeBehaviour = {};
    const cloud = createFakeCloud(behaviour);
    const { first, err } = await withWorker(cloud, async (tq) => {
      const first = await (await deploy(tq, v1())).result();
      behaviour.rolloutStallLooks = 60; // 60 × 30 s: past the 600 s limit and its 300 s grace
      const rollout = {
        type: 'linear',
        linearStepSize: { type: 'CAPACITY_PERCENT', value: 50 },
        waitIntervalSeconds: 60,
        maximumExecutionTimeoutSeconds: 600,
      } as const;
      return { first, err: await failureOf(await deploy(tq, v2(rollout, { timeouts: { inServiceMinutes: 30, pollIntervalSeconds: 30 } }))) };
    });
    expect(err.message).toContain('did not finish within 900 s (last seen: Updating, Baking)');
    expect(err.message).toMatch(/rolled back: roll endpoint demo back to/);
    expectOnlyV1(cloud, first);
  });

  it('refuses a policy AWS would refuse, naming the field, before any activity', async () => {
    const cloud = createFakeCloud();
    const cases: Array<[unknown, RegExp]> = [
      [
        { type: 'canary', canarySize: { type: 'INSTANCE_COUNT', value: 2 } },
        /rollout\.canarySize\.value.*at most 50% of the variant's instance count.*2 of 2 instances is 100%/,
      ],
      [{ type: 'linear', linearStepSize: { type: 'CAPACITY_PERCENT', value: 5 } }, /rollout\.linearStepSize\.value.*10-50%/],
      [{ type: 'canary', canarySize: { type: 'CAPACITY_PERCENT', value: 10 }, waitIntervalSeconds: 3601 }, /rollout\.waitIntervalSeconds.*at most 3600/],
      [{ type: 'allAtOnce', maximumExecutionTimeoutSeconds: 599 }, /rollout\.maximumExecutionTimeoutSeconds.*at least 600/],
      [{ type: 'allAtOnce', waitIntervalSeconds: 600, maximumExecutionTimeoutSeconds: 600 }, /maximumExecutionTimeoutSeconds.*larger than waitIntervalSeconds/],
      [{ type: 'rolling', maximumBatchSize: { type: 'INSTANCE_COUNT', value: 1 }, terminationWaitSeconds: 10 }, /rollout.*terminationWaitSeconds/],
      [{ type: 'allAtOnce', alarms: Array.from({ length: 11 }, (_, i) => `a${i}`) }, /rollout\.alarms.*list of 1-10 CloudWatch alarm names/],
      [{ type: 'blue' }, /rollout\.type/],
    ];
    await withWorker(cloud, async (tq) => {
      for (const [rollout, message] of cases) {
        const err = await failureOf(await deploy(tq, { ...v2(undefined), rollout }));
        expect(err.message).toMatch(message);
      }
    });
    expect(cloud.calls).toEqual([]);
  });
});
