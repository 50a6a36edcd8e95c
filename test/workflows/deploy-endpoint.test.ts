// deployEndpoint on the time-skipping test server, with in-memory activities.
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import type { DeployEndpointInput } from '../../common/endpoint-input.js';
import type { Progress } from '../../workflows/progress.js';
import { INPUT_FINGERPRINT_MEMO, runWorkflow } from '../../clients/workflow-runs.js';
import { inputFingerprint } from '../../common/resource-names.js';
import { timeSkippingSuite } from '../support/time-skipping-suite.js';
import { createFakeCloud, type FakeBehaviour } from './fake-activities.js';

const suite = timeSkippingSuite('deploy-test');

const baseInput = (overrides: Partial<DeployEndpointInput> = {}): DeployEndpointInput => ({
  endpointName: 'demo',
  model: { image: 'huggingface-pytorch-tgi-inference:local', hfModelId: 'ggml-org/tiny-llamas' },
  variant: { instanceType: 'ml.g5.xlarge' },
  autoscaling: { minInstances: 1, maxInstances: 2, targetInvocationsPerInstance: 100 },
  timeouts: { inServiceMinutes: 90, pollIntervalSeconds: 10 },
  ...overrides,
});

async function withWorker<T>(cloud: ReturnType<typeof createFakeCloud>, run: (taskQueue: string) => Promise<T>): Promise<T> {
  return suite.withWorker(cloud.activities, run);
}

function deploy(taskQueue: string, input: unknown, workflowId = `deploy-${Math.random()}`): Promise<WorkflowHandle> {
  return suite.env.client.workflow.start('deployEndpoint', { taskQueue, workflowId, args: [input] });
}

async function failureOf(handle: WorkflowHandle): Promise<Error> {
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause as Error;
}

async function historyLength(handle: WorkflowHandle): Promise<number> {
  const history = await handle.fetchHistory();
  return history.events?.length ?? 0;
}

describe('deployEndpoint', () => {
  it('creates role, model, config and endpoint, waits, scales, smoke-tests, in that order', async () => {
    const cloud = createFakeCloud({ pollsBeforeReady: 3 });
    const { result, progress } = await withWorker(cloud, async (tq) => {
      const handle = await deploy(tq, baseInput());
      const result = await handle.result();
      return { result, progress: await handle.query<Progress>('progress') };
    });
    expect(result.action).toBe('created');
    expect(result.modelName).toMatch(/^demo-m-[0-9a-f]{8}$/);
    expect(result.endpointConfigName).toMatch(/^demo-c-[0-9a-f]{8}$/);
    expect(result.autoscaling?.resourceId).toBe('endpoint/demo/variant/AllTraffic');
    expect(result.smokeTest?.generatedText).toContain('Once upon a time');
    expect(Object.keys(result.timings)).toEqual([
      'ensureExecutionRole',
      'createModel',
      'createEndpointConfig',
      'createOrUpdateEndpoint',
      'waitForInService',
      'registerAutoscaling',
      'smokeTest',
      'startLease',
    ]);
    expect(cloud.calls.filter((c) => !c.startsWith('await'))).toEqual([
      'runningWorkflow teardown-demo',
      'ensureExecutionRole',
      `createModel ${result.modelName}`,
      `createEndpointConfig ${result.endpointConfigName}`,
      'describeEndpointStatus demo',
      'createEndpoint demo',
      'registerAutoscaling',
      'invokeEndpoint',
    ]);
    expect(cloud.polls()).toBe(4);
    expect(progress.status).toBe('succeeded');
    expect(progress.resources.endpointConfigName).toBe(result.endpointConfigName);
  });

  it('waits 60 minutes of Creating at the same history cost as 10 seconds', async () => {
    const short = createFakeCloud({ pollsBeforeReady: 1 }); // one 10 s poll interval
    const long = createFakeCloud({ pollsBeforeReady: 360 }); // 360 × 10 s = 60 minutes
    const shortLen = await withWorker(short, async (tq) => {
      const h = await deploy(tq, baseInput());
      await h.result();
      return historyLength(h);
    });
    const { longLen, progress } = await withWorker(long, async (tq) => {
      const h = await deploy(tq, baseInput());
      await h.result();
      return { longLen: await historyLength(h), progress: await h.query<Progress>('progress') };
    });
    expect(long.polls()).toBe(361);
    expect(longLen).toBe(shortLen);
    // The workflow clock saw the hour go by (the test server skipped it).
    const wait = progress.steps.find((s) => s.name === 'waitForInService')!;
    expect(wait.durationMs).toBeGreaterThanOrEqual(60 * 60 * 1000);
  });

  it('fails with the deadline and the current status when InService never comes, deleting the endpoint once AWS allows it', async () => {
    // Creating for 15 polls of 30 s: past the 5-minute deadline, then compensation waits it out.
    const cloud = createFakeCloud({ pollsBeforeReady: 15 });
    const err = await withWorker(cloud, async (tq) => failureOf(await deploy(tq, baseInput({ timeouts: { inServiceMinutes: 5, pollIntervalSeconds: 30 } }))));
    expect(err.message).toMatch(/did not reach InService within 5 minutes \(status now: Creating\)/);
    expect(err.message).toMatch(/rolled back: delete endpoint demo, delete endpoint config demo-c-\w+, delete model demo-m-\w+/);
    expect(cloud.endpoints.size + cloud.configs.size + cloud.models.size).toBe(0);
  });

  it('compensates in reverse order and names the AWS FailureReason when the endpoint fails', async () => {
    const reason = 'The primary container for production variant AllTraffic did not pass the ping health check.';
    const cloud = createFakeCloud({ pollsBeforeReady: 2, failWith: reason });
    const { err, progress } = await withWorker(cloud, async (tq) => {
      const h = await deploy(tq, baseInput());
      return { err: await failureOf(h), progress: await h.query<Progress>('progress') };
    });
    expect(err.message).toContain(`Deploy of endpoint demo failed at step waitForInService: Endpoint demo failed: ${reason}`);
    const undo = cloud.calls.slice(cloud.calls.findIndex((c) => c.startsWith('delete')));
    expect(undo.filter((c) => !c.startsWith('await'))).toEqual([
      'deleteEndpoint demo',
      expect.stringMatching(/^deleteEndpointConfig demo-c-/),
      expect.stringMatching(/^deleteModel demo-m-/),
    ]);
    expect(cloud.endpoints.size + cloud.configs.size + cloud.models.size).toBe(0);
    expect(progress.status).toBe('failed');
  });

  it('keeps everything when retainOnFailure is set', async () => {
    const cloud = createFakeCloud({ failWith: 'boom' });
    const err = await withWorker(cloud, async (tq) => failureOf(await deploy(tq, baseInput({ retainOnFailure: true }))));
    expect(err.message).toContain('resources retained (retainOnFailure)');
    expect(cloud.models.size).toBe(1);
    expect(cloud.configs.size).toBe(1);
    expect(cloud.endpoints.get('demo')?.status).toBe('Failed');
  });

  it('undoes autoscaling and the endpoint when the smoke test fails', async () => {
    const cloud = createFakeCloud({ smokeTestError: 'Received client error (424) from primary' });
    const err = await withWorker(cloud, async (tq) => failureOf(await deploy(tq, baseInput())));
    expect(err.message).toContain('failed at step smokeTest: Received client error (424)');
    expect(cloud.targets.size).toBe(0);
    expect(cloud.endpoints.size).toBe(0);
    expect(cloud.calls.indexOf('deregisterAutoscaling endpoint/demo/variant/AllTraffic')).toBeLessThan(cloud.calls.indexOf('deleteEndpoint demo'));
  });

  it('cleans up when cancelled while waiting for InService, and ends cancelled', async () => {
    const cloud = createFakeCloud({ pollsBeforeReady: 30 });
    const { err, progress } = await withWorker(cloud, async (tq) => {
      // Real time passes here (nothing awaits a result, so the server does not skip): poll fast.
      const h = await deploy(tq, baseInput({ timeouts: { inServiceMinutes: 90, pollIntervalSeconds: 0.5 } }));
      while (cloud.polls() < 2) await new Promise((r) => setTimeout(r, 50));
      await h.cancel();
      const err = await h.result().catch((e: unknown) => e);
      return { err, progress: await h.query<Progress>('progress') };
    });
    expect((err as WorkflowFailedError).cause?.name).toBe('CancelledFailure');
    expect(progress.status).toBe('cancelled');
    expect(cloud.endpoints.size + cloud.configs.size + cloud.models.size).toBe(0);
  });

  it('re-running the same deploy changes nothing and reports unchanged', async () => {
    const cloud = createFakeCloud();
    const [first, second] = await withWorker(cloud, async (tq) => {
      const a = await (await deploy(tq, baseInput())).result();
      const b = await (await deploy(tq, baseInput())).result();
      return [a, b];
    });
    expect(first.action).toBe('created');
    expect(second.action).toBe('unchanged');
    expect(second.modelName).toBe(first.modelName);
    expect(second.endpointConfigName).toBe(first.endpointConfigName);
    expect(cloud.models.size).toBe(1);
    expect(cloud.configs.size).toBe(1);
  });

  it('a changed variant creates a new config and updates the endpoint in place', async () => {
    const cloud = createFakeCloud();
    const [first, second] = await withWorker(cloud, async (tq) => {
      const a = await (await deploy(tq, baseInput())).result();
      const b = await (await deploy(tq, baseInput({ variant: { instanceType: 'ml.g5.2xlarge' } }))).result();
      return [a, b];
    });
    expect(second.action).toBe('updated');
    expect(second.endpointConfigName).not.toBe(first.endpointConfigName);
    expect(second.modelName).toBe(first.modelName);
    expect(cloud.endpoints.get('demo')?.configName).toBe(second.endpointConfigName);
  });

  it('sets the EndpointName search attribute', async () => {
    const cloud = createFakeCloud();
    const attrs = await withWorker(cloud, async (tq) => {
      const h = await deploy(tq, baseInput({ endpointName: 'searchable' }));
      await h.result();
      return (await h.describe()).searchAttributes;
    });
    expect(attrs.EndpointName).toEqual(['searchable']);
  });

  it('rejects bad input before any activity runs, naming each field and rule', async () => {
    const cloud = createFakeCloud();
    const bad = {
      endpointName: 'bad_name!',
      model: { image: 'x' },
      variant: { instanceType: 'g5.xlarge', initialInstanceCount: 0 },
      autoscaling: { minInstances: 3, maxInstances: 2, targetInvocationsPerInstance: 10 },
    };
    const err = await withWorker(cloud, async (tq) => failureOf(await deploy(tq, bad)));
    expect(err.message).toMatch(/^Invalid deployEndpoint input: /);
    expect(err.message).toContain('endpointName: must match');
    expect(err.message).toContain('model.hfModelId: is required');
    expect(err.message).toContain('variant.instanceType: must look like ml.<family>.<size>');
    expect(err.message).toContain('variant.initialInstanceCount: must be at least 1');
    expect(err.message).toContain('autoscaling.minInstances: minInstances must be less than or equal to maxInstances');
    expect(cloud.calls).toEqual([]);
  });

  it('refuses a secret reference to a worker credential, and a literal token, before any activity runs', async () => {
    const cloud = createFakeCloud();
    const literal = 'hf_' + 'x1'.repeat(20);
    const input = baseInput({
      model: { ...baseInput().model, hfTokenSecret: { envVar: 'AWS_SECRET_ACCESS_KEY' }, environment: { EXTRA: literal } },
    });
    const err = await withWorker(cloud, async (tq) => failureOf(await deploy(tq, input)));
    expect(err.message).toContain("model.hfTokenSecret.envVar: must name a token variable on the worker's allowlist");
    expect(err.message).toContain('model.environment.EXTRA: must not hold a secret literally');
    expect(err.message).not.toContain(literal);
    expect(cloud.calls).toEqual([]);
  });

  it('refuses a lease that would scale a model-based endpoint to zero, which SageMaker cannot, before any activity runs', async () => {
    const cloud = createFakeCloud();
    const input = baseInput({ idle: { afterMinutes: 60, action: 'scaleToZero' }, ttl: { hours: 48, action: 'scaleToZero' } });
    const err = await withWorker(cloud, async (tq) => failureOf(await deploy(tq, input)));
    expect(err.message).toContain('idle.action: cannot be "scaleToZero" on a model-based endpoint');
    expect(err.message).toContain('ttl.action: cannot be "scaleToZero" on a model-based endpoint');
    expect(cloud.calls).toEqual([]);
  });
});

// Regression tests for issue 9's saga findings: each fails on the code before the fix.
describe('deployEndpoint saga under cancel, crash and retry', () => {
  const nothingLeft = (cloud: ReturnType<typeof createFakeCloud>) => cloud.endpoints.size + cloud.configs.size + cloud.models.size + cloud.targets.size;

  it('finding 1: a cancel while CreateEndpoint is in flight still deletes the endpoint it makes', async () => {
    const cloud = createFakeCloud({ createDelayMs: 1500, pollsBeforeReady: 3 });
    const err = await withWorker(cloud, async (tq) => {
      const h = await deploy(tq, baseInput());
      while (!cloud.calls.some((c) => /^create(OrUpdate)?Endpoint demo/.test(c))) await new Promise((r) => setTimeout(r, 20));
      await h.cancel();
      return h.result().catch((e: unknown) => e);
    });
    expect((err as WorkflowFailedError).cause?.name).toBe('CancelledFailure');
    expect(nothingLeft(cloud)).toBe(0);
  });

  it('finding 2: compensation waits while the endpoint is Creating, and deletes config and model only after it is gone', async () => {
    // Creating for 40 looks: the InService deadline passes first, AWS refuses deletes meanwhile.
    const cloud = createFakeCloud({ pollsBeforeReady: 40 });
    const err = await withWorker(cloud, async (tq) => failureOf(await deploy(tq, baseInput({ timeouts: { inServiceMinutes: 2, pollIntervalSeconds: 10 } }))));
    expect(err.message).toMatch(/did not reach InService within 2 minutes/);
    expect(err.message).not.toMatch(/could not undo/);
    expect(nothingLeft(cloud)).toBe(0);
    const gone = cloud.calls.lastIndexOf('awaitEndpointDeleted');
    expect(cloud.calls.findIndex((c) => c.startsWith('deleteEndpointConfig'))).toBeGreaterThan(gone);
    expect(cloud.calls.findIndex((c) => c.startsWith('deleteModel'))).toBeGreaterThan(gone);
  });

  it('finding 3: an identical re-deploy whose smoke test fails leaves the healthy endpoint and its autoscaling alone', async () => {
    const behaviour: FakeBehaviour = {};
    const cloud = createFakeCloud(behaviour);
    const err = await withWorker(cloud, async (tq) => {
      await (await deploy(tq, baseInput())).result();
      behaviour.smokeTestError = 'Received client error (424) from primary';
      return failureOf(await deploy(tq, baseInput()));
    });
    expect(err.message).toContain('failed at step smokeTest');
    expect([...cloud.targets]).toEqual(['endpoint/demo/variant/AllTraffic']);
    expect(cloud.endpoints.get('demo')?.status).toBe('InService');
    expect(cloud.configs.size + cloud.models.size).toBe(2);
  });

  it('finding 4: an update retried after its first attempt finished still rolls back, and keeps what the endpoint serves', async () => {
    const behaviour: FakeBehaviour = {};
    const cloud = createFakeCloud(behaviour);
    const { first, err } = await withWorker(cloud, async (tq) => {
      const first = await (await deploy(tq, baseInput())).result();
      Object.assign(behaviour, { loseFirstUpdateAnswer: true, smokeTestError: 'Received client error (424) from primary' });
      return { first, err: await failureOf(await deploy(tq, baseInput({ variant: { instanceType: 'ml.g5.2xlarge' } }))) };
    });
    expect(err.message).toMatch(new RegExp(`rolled back: .*roll endpoint demo back to ${first.endpointConfigName}`));
    const ep = cloud.endpoints.get('demo')!;
    expect(ep).toMatchObject({ status: 'InService', configName: first.endpointConfigName });
    expect([...cloud.configs.keys()]).toEqual([first.endpointConfigName]);
    expect([...cloud.models.keys()]).toEqual([first.modelName]);
  });

  it("finding 4: UpdateRollbackFailed fails the deploy at once with AWS's reason, and the new config it still holds is kept", async () => {
    const reason = 'Unable to roll back: instance capacity is unavailable.';
    const behaviour: FakeBehaviour = {};
    const cloud = createFakeCloud(behaviour);
    const err = await withWorker(cloud, async (tq) => {
      await (await deploy(tq, baseInput())).result();
      Object.assign(behaviour, { pollsBeforeReady: 2, failUpdateWith: reason, updateRollbackFails: true });
      return failureOf(
        await deploy(tq, baseInput({ variant: { instanceType: 'ml.g5.2xlarge' }, timeouts: { inServiceMinutes: 600, pollIntervalSeconds: 10 } })),
      );
    });
    expect(err.message).toContain(`UpdateRollbackFailed: ${reason}`);
    // A handful of polls, not a 10-hour wait.
    expect(cloud.polls()).toBeLessThan(20);
    expect(cloud.endpoints.get('demo')?.status).toBe('UpdateRollbackFailed');
    expect(cloud.configs.size).toBe(2);
  });

  it('finding 4: the rollback never creates an endpoint that disappeared meanwhile', async () => {
    const behaviour: FakeBehaviour = {};
    const cloud = createFakeCloud(behaviour);
    await withWorker(cloud, async (tq) => {
      await (await deploy(tq, baseInput())).result();
      Object.assign(behaviour, { smokeTestError: 'boom', onSmokeTest: () => cloud.endpoints.delete('demo') });
      return failureOf(await deploy(tq, baseInput({ variant: { instanceType: 'ml.g5.2xlarge' } })));
    });
    expect(cloud.endpoints.size).toBe(0);
    expect(cloud.calls.filter((c) => /^create(OrUpdate)?Endpoint demo/.test(c))).toEqual(['createEndpoint demo']);
  });

  it("an undo leaves alone what another run made: a re-deploy that fails before the endpoint keeps the first run's model and config", async () => {
    const behaviour: FakeBehaviour = {};
    const cloud = createFakeCloud(behaviour);
    await withWorker(cloud, async (tq) => {
      await (await deploy(tq, baseInput())).result();
      cloud.endpoints.clear(); // the endpoint went away, its model and config are still there
      behaviour.failWith = 'health check';
      return failureOf(await deploy(tq, baseInput()));
    });
    expect(cloud.models.size + cloud.configs.size).toBe(2);
    expect(cloud.endpoints.size).toBe(0);
  });

  it('finding 6: a deploy refuses to start while a teardown of the same endpoint runs', async () => {
    const cloud = createFakeCloud();
    cloud.running.add('teardown-demo');
    const err = await withWorker(cloud, async (tq) => failureOf(await deploy(tq, baseInput())));
    expect(err.message).toMatch(/^Deploy of endpoint demo refused: workflow teardown-demo \(run run-1\) is running/);
    expect(cloud.calls).toEqual(['runningWorkflow teardown-demo']);
  });

  it('finding 6: starting a deploy whose input differs from the running one fails clearly instead of attaching', async () => {
    const cloud = createFakeCloud({ pollsBeforeReady: 1_000_000 });
    const err = await withWorker(cloud, async (tq) => {
      const slow = baseInput({ timeouts: { inServiceMinutes: 90, pollIntervalSeconds: 0.5 } });
      const first = suite.env.client.workflow.start('deployEndpoint', {
        taskQueue: tq,
        workflowId: 'deploy-demo',
        args: [slow],
        memo: { [INPUT_FINGERPRINT_MEMO]: inputFingerprint(slow) },
      });
      const handle = await first;
      const other = baseInput({ variant: { instanceType: 'ml.g5.2xlarge' }, timeouts: slow.timeouts });
      const refused = await runWorkflow(suite.env.client, 'deployEndpoint', 'deploy-demo', other, () => {}, tq).catch((e: unknown) => e);
      await handle.terminate('test over');
      return refused as Error;
    });
    expect(err.message).toMatch(/^deploy-demo is already running \(run [\w-]+, started .*\) with a different input; wait for it to finish or cancel it/);
  });
});
