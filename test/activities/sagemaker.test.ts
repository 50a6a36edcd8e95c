// The SageMaker control-plane activities against the local cloud, with real model processes:
// idempotent creates that verify what exists, secrets resolved on the worker, the endpoint
// state machine polled the way the workflows poll it (create, blue/green update, failed update,
// failed create), discovery by tags, and deletes where "not found" means done.
import {
  CreateEndpointConfigCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  ListEndpointConfigsCommand,
  ListEndpointsCommand,
  ListModelsCommand,
  ListTagsCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type Activities } from '../../activities/index.js';
import { createAwsClients } from '../../activities/aws-clients.js';
import type { CreateEndpointConfigInput, CreateModelInput } from '../../activities/sagemaker.js';
import { TAG_CREATED_BY, TAG_ENDPOINT } from '../../common/resource-names.js';
import {
  startedPids,
  TEST_CREDENTIALS,
  TEST_ROLE_NAME,
  TGI_IMAGE,
  TINY_MODEL_ENV,
  failureOf,
  pollUntilDone,
  startActivityCloud,
  tagsFor,
  teardownEndpoint,
  type ActivityCloud,
} from './support.js';
import { isRunning } from '../../dev/processes.js';
import { recordingPool, type RecordingPool } from '../local-cloud/support.js';

const LMI_IMAGE = '763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-lmi11.0.0-cu124';

let env: ActivityCloud;
let pool: RecordingPool;
let a: Activities;
let sm: SageMakerClient;
let roleArn: string;

beforeAll(async () => {
  env = await startActivityCloud({ pool: (stateDir) => (pool = recordingPool(stateDir)) });
  a = env.activities;
  sm = env.clients.sagemaker;
  ({ roleArn } = await a.ensureExecutionRole({ roleName: TEST_ROLE_NAME }));
});

afterAll(async () => {
  await env?.close();
});

const modelInput = (endpointName: string, modelName: string, overrides: Partial<CreateModelInput> = {}): CreateModelInput => ({
  modelName,
  image: TGI_IMAGE,
  environment: TINY_MODEL_ENV,
  roleArn,
  tags: tagsFor(endpointName),
  ...overrides,
});

const configInput = (
  endpointName: string,
  configName: string,
  modelName: string,
  overrides: Partial<CreateEndpointConfigInput> = {},
): CreateEndpointConfigInput => ({
  configName,
  modelName,
  variantName: 'AllTraffic',
  instanceType: 'ml.m5.large',
  initialInstanceCount: 1,
  containerStartupHealthCheckTimeoutSeconds: 600,
  tags: tagsFor(endpointName),
  ...overrides,
});

async function tagsOf(arn: string): Promise<Record<string, string>> {
  const { Tags } = await sm.send(new ListTagsCommand({ ResourceArn: arn }));
  return Object.fromEntries((Tags ?? []).map((t) => [t.Key!, t.Value!]));
}

async function modelExists(modelName: string): Promise<boolean> {
  const { Models } = await sm.send(new ListModelsCommand({ NameContains: modelName }));
  return (Models ?? []).some((m) => m.ModelName === modelName);
}

describe('createModel', () => {
  afterAll(() => teardownEndpoint(a, 'models-ep'));

  it('creates the model with its image, environment, role and ownership tags', async () => {
    const out = await a.createModel(modelInput('models-ep', 'models-ep-m-1', { tags: { ...tagsFor('models-ep'), extra: { team: 'ml' } } }));
    expect(out.created).toBe(true);

    const model = await sm.send(new DescribeModelCommand({ ModelName: 'models-ep-m-1' }));
    expect(model.ModelArn).toBe(out.modelArn);
    expect(model.ExecutionRoleArn).toBe(roleArn);
    expect(model.PrimaryContainer).toMatchObject({ Image: TGI_IMAGE, Environment: TINY_MODEL_ENV });
    expect(await tagsOf(out.modelArn)).toEqual({
      team: 'ml',
      [TAG_ENDPOINT]: 'models-ep',
      [TAG_CREATED_BY]: 'deploy-models-ep/run-1',
    });
  });

  it('is idempotent: same input → same ARN, created true for the creating run and false for another run', async () => {
    const first = await a.createModel(modelInput('models-ep', 'models-ep-m-2'));
    const retried = await a.createModel(modelInput('models-ep', 'models-ep-m-2'));
    const otherRun = await a.createModel(modelInput('models-ep', 'models-ep-m-2', { tags: tagsFor('models-ep', 'run-2') }));
    expect(first.created).toBe(true);
    expect(retried).toEqual({ modelArn: first.modelArn, created: true });
    expect(otherRun).toEqual({ modelArn: first.modelArn, created: false });
    // Reuse does not retag: the model still belongs to the run that created it.
    expect((await tagsOf(first.modelArn))[TAG_CREATED_BY]).toBe('deploy-models-ep/run-1');
  });

  it('the same name with a different image is a non-retryable ResourceConflict', async () => {
    await a.createModel(modelInput('models-ep', 'models-ep-m-3'));
    const failure = await failureOf(a.createModel(modelInput('models-ep', 'models-ep-m-3', { image: LMI_IMAGE })));
    expect(failure).toMatchObject({ type: 'ResourceConflict', nonRetryable: true });
    expect(failure.message).toContain('models-ep-m-3');
    expect(failure.message).toContain('image');
    // The existing model is untouched.
    const model = await sm.send(new DescribeModelCommand({ ModelName: 'models-ep-m-3' }));
    expect(model.PrimaryContainer?.Image).toBe(TGI_IMAGE);
  });

  it('the same name with a different environment is a non-retryable ResourceConflict', async () => {
    await a.createModel(modelInput('models-ep', 'models-ep-m-4'));
    const failure = await failureOf(a.createModel(modelInput('models-ep', 'models-ep-m-4', { environment: { ...TINY_MODEL_ENV, MAX_TOTAL_TOKENS: '1024' } })));
    expect(failure).toMatchObject({ type: 'ResourceConflict', nonRetryable: true });
    expect(failure.message).toContain('environment');
  });

  it('resolves the older hfTokenEnvVar form from the worker environment into Environment.HF_TOKEN', async () => {
    const withToken = env.activitiesWithEnv({ HF_TOKEN: 'hf_x' });
    const input = modelInput('models-ep', 'models-ep-m-5', { hfTokenEnvVar: 'HF_TOKEN' });
    const out = await withToken.createModel(input);
    expect(out.created).toBe(true);
    const model = await sm.send(new DescribeModelCommand({ ModelName: 'models-ep-m-5' }));
    expect(model.PrimaryContainer?.Environment).toEqual({ ...TINY_MODEL_ENV, HF_TOKEN: 'hf_x' });
    // The token is not part of the input, so a re-run still matches what exists.
    expect(await withToken.createModel(input)).toEqual({ modelArn: out.modelArn, created: true });
  });

  it('a missing token variable is a non-retryable SecretNotFound, raised before any AWS call', async () => {
    const input = modelInput('models-ep', 'models-ep-m-6', { hfTokenSecret: { envVar: 'HUGGING_FACE_HUB_TOKEN' } });
    const failure = await failureOf(env.activitiesWithEnv({ OTHER: 'x' }).createModel(input));
    expect(failure).toMatchObject({ type: 'SecretNotFound', nonRetryable: true });
    expect(failure.message).toContain('HUGGING_FACE_HUB_TOKEN');
    expect(await modelExists('models-ep-m-6')).toBe(false);

    // Against an address where nothing listens, any AWS call would fail with a network error
    // instead: getting SecretNotFound proves the check comes first.
    const unreachable = createActivities(createAwsClients({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: TEST_CREDENTIALS }), {});
    expect(await failureOf(unreachable.createModel(input))).toMatchObject({ type: 'SecretNotFound', nonRetryable: true });
  });

  it("a role SageMaker cannot assume is rejected by the service: non-retryable, with AWS's message", async () => {
    const failure = await failureOf(a.createModel(modelInput('models-ep', 'models-ep-m-7', { roleArn: 'arn:aws:iam::123456789012:role/NoSuchRole' })));
    expect(failure).toMatchObject({ type: 'ValidationException', nonRetryable: true });
    expect(failure.message).toContain('CreateModel models-ep-m-7');
    expect(failure.message).toContain('Could not assume role arn:aws:iam::123456789012:role/NoSuchRole');
    expect(await modelExists('models-ep-m-7')).toBe(false);
  });
});

describe('createEndpointConfig', () => {
  afterAll(() => teardownEndpoint(a, 'configs-ep'));

  beforeAll(async () => {
    await a.createModel(modelInput('configs-ep', 'configs-ep-m-1'));
    await a.createModel(modelInput('configs-ep', 'configs-ep-m-2', { environment: { ...TINY_MODEL_ENV, MAX_INPUT_LENGTH: '128' } }));
  });

  it('creates the config with one production variant and ownership tags', async () => {
    const out = await a.createEndpointConfig(configInput('configs-ep', 'configs-ep-c-1', 'configs-ep-m-1'));
    expect(out.created).toBe(true);
    const config = await sm.send(new DescribeEndpointConfigCommand({ EndpointConfigName: 'configs-ep-c-1' }));
    expect(config.EndpointConfigArn).toBe(out.configArn);
    expect(config.ProductionVariants).toEqual([
      expect.objectContaining({
        VariantName: 'AllTraffic',
        ModelName: 'configs-ep-m-1',
        InstanceType: 'ml.m5.large',
        InitialInstanceCount: 1,
        InitialVariantWeight: 1,
        ContainerStartupHealthCheckTimeoutInSeconds: 600,
      }),
    ]);
    expect(await tagsOf(out.configArn)).toMatchObject({ [TAG_ENDPOINT]: 'configs-ep', [TAG_CREATED_BY]: 'deploy-configs-ep/run-1' });
  });

  it('is idempotent: created true for the creating run, false for another run, same ARN', async () => {
    const first = await a.createEndpointConfig(configInput('configs-ep', 'configs-ep-c-2', 'configs-ep-m-1'));
    const retried = await a.createEndpointConfig(configInput('configs-ep', 'configs-ep-c-2', 'configs-ep-m-1'));
    const otherRun = await a.createEndpointConfig(configInput('configs-ep', 'configs-ep-c-2', 'configs-ep-m-1', { tags: tagsFor('configs-ep', 'run-2') }));
    expect(first.created).toBe(true);
    expect(retried).toEqual({ configArn: first.configArn, created: true });
    expect(otherRun).toEqual({ configArn: first.configArn, created: false });
  });

  it('the same name with a different model, instance type or count is a non-retryable ResourceConflict', async () => {
    await a.createEndpointConfig(configInput('configs-ep', 'configs-ep-c-3', 'configs-ep-m-1'));
    const otherModel = await failureOf(a.createEndpointConfig(configInput('configs-ep', 'configs-ep-c-3', 'configs-ep-m-2')));
    expect(otherModel).toMatchObject({ type: 'ResourceConflict', nonRetryable: true });
    expect(otherModel.message).toContain('model');

    const otherType = await failureOf(a.createEndpointConfig(configInput('configs-ep', 'configs-ep-c-3', 'configs-ep-m-1', { instanceType: 'ml.g5.xlarge' })));
    expect(otherType).toMatchObject({ type: 'ResourceConflict', nonRetryable: true });
    expect(otherType.message).toContain('instance type');

    const otherCount = await failureOf(a.createEndpointConfig(configInput('configs-ep', 'configs-ep-c-3', 'configs-ep-m-1', { initialInstanceCount: 2 })));
    expect(otherCount).toMatchObject({ type: 'ResourceConflict', nonRetryable: true });
    expect(otherCount.message).toContain('instance count');
  });

  it("a config for a model that does not exist is a non-retryable ValidationException with AWS's message", async () => {
    const failure = await failureOf(a.createEndpointConfig(configInput('configs-ep', 'configs-ep-c-4', 'configs-ep-m-missing')));
    expect(failure).toMatchObject({ type: 'ValidationException', nonRetryable: true });
    expect(failure.message).toContain('Could not find model');
    expect(failure.message).toContain('configs-ep-m-missing');
  });
});

describe('endpoint lifecycle with real model processes', () => {
  const ep = 'life-ep';
  const tags = tagsFor(ep);

  beforeAll(async () => {
    await a.createModel(modelInput(ep, `${ep}-m-1`));
    await a.createEndpointConfig(configInput(ep, `${ep}-c-1`, `${ep}-m-1`));
  });

  it('createOrUpdateEndpoint creates it; awaitEndpointInService says "not yet" while Creating, then InService', async () => {
    const release = pool.hold();
    let change;
    try {
      change = await a.createOrUpdateEndpoint({ endpointName: ep, configName: `${ep}-c-1`, tags });
      expect(change.action).toBe('created');
      expect(change.previousConfigName).toBeUndefined();

      // While the model processes are held back, a poll is a retryable, benign "not yet".
      const notYet = await failureOf(a.awaitEndpointInService({ endpointName: ep, expectedConfigName: `${ep}-c-1` }));
      expect(notYet).toMatchObject({ type: 'EndpointNotReady', nonRetryable: false, category: 'BENIGN' });
      expect(notYet.message).toContain('Creating');

      // A retry of the create (same run) while Creating still reports it as created by this run.
      expect(await a.createOrUpdateEndpoint({ endpointName: ep, configName: `${ep}-c-1`, tags })).toEqual({
        endpointArn: change.endpointArn,
        action: 'created',
      });
    } finally {
      release();
    }

    const { result } = await pollUntilDone(() => a.awaitEndpointInService({ endpointName: ep, expectedConfigName: `${ep}-c-1` }), 'EndpointNotReady');
    expect(result).toEqual({ status: 'InService', configName: `${ep}-c-1` });

    const described = await sm.send(new DescribeEndpointCommand({ EndpointName: ep }));
    expect(described.EndpointArn).toBe(change.endpointArn);
    expect(described.ProductionVariants).toEqual([expect.objectContaining({ VariantName: 'AllTraffic', CurrentInstanceCount: 1 })]);
    expect(await tagsOf(change.endpointArn)).toMatchObject({ [TAG_ENDPOINT]: ep, [TAG_CREATED_BY]: tags.runTag });
    expect(await a.describeEndpointStatus({ endpointName: ep })).toMatchObject({
      status: 'InService',
      failureReason: undefined,
      configName: expect.any(String),
      createdBy: expect.any(String),
    });
    // A real model answers.
    expect((await a.invokeEndpoint({ endpointName: ep, inputs: 'Once upon a time', parameters: { max_new_tokens: 4 } })).generatedText).toEqual(
      expect.any(String),
    );
  });

  it('a re-run with the config it already has changes nothing: created for the creating run, unchanged for another', async () => {
    const same = await a.createOrUpdateEndpoint({ endpointName: ep, configName: `${ep}-c-1`, tags });
    const other = await a.createOrUpdateEndpoint({ endpointName: ep, configName: `${ep}-c-1`, tags: tagsFor(ep, 'run-2') });
    expect(same.action).toBe('created');
    expect(other).toEqual({ endpointArn: same.endpointArn, action: 'unchanged' });
    expect((await sm.send(new DescribeEndpointCommand({ EndpointName: ep }))).EndpointStatus).toBe('InService');
  });

  it('a new config updates it blue/green: action updated with previousConfigName, Updating while the old fleet serves, then InService on the new config', async () => {
    const run2 = tagsFor(ep, 'run-2');
    await a.createModel(modelInput(ep, `${ep}-m-2`, { environment: { ...TINY_MODEL_ENV, MAX_INPUT_LENGTH: '128' }, tags: run2 }));
    await a.createEndpointConfig(configInput(ep, `${ep}-c-2`, `${ep}-m-2`, { tags: run2 }));

    const release = pool.hold();
    try {
      const change = await a.createOrUpdateEndpoint({ endpointName: ep, configName: `${ep}-c-2`, tags: run2 });
      expect(change).toMatchObject({ action: 'updated', previousConfigName: `${ep}-c-1` });

      const notYet = await failureOf(a.awaitEndpointInService({ endpointName: ep, expectedConfigName: `${ep}-c-2` }));
      expect(notYet).toMatchObject({ type: 'EndpointNotReady', nonRetryable: false });
      expect(notYet.message).toContain('Updating');
      // No downtime: the old fleet keeps answering while the new one starts.
      const during = await a.invokeEndpoint({ endpointName: ep, inputs: 'Once upon a time', parameters: { max_new_tokens: 4 } });
      expect(during.invokedVariant).toBe('AllTraffic');
    } finally {
      release();
    }

    const { result } = await pollUntilDone(() => a.awaitEndpointInService({ endpointName: ep, expectedConfigName: `${ep}-c-2` }), 'EndpointNotReady');
    expect(result).toEqual({ status: 'InService', configName: `${ep}-c-2` });
    const described = await sm.send(new DescribeEndpointCommand({ EndpointName: ep }));
    expect(described).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: `${ep}-c-2` });
    expect(described.FailureReason).toBeUndefined();
  });

  it('a rollback to the current config requested while an update is still running waits (EndpointBusy) instead of reporting it done', async () => {
    // The deploy workflow compensates an 'updated' endpoint by deploying previousConfigName again;
    // if that happens while the update is still running (e.g. the wait hit its deadline), the
    // endpoint still names the old config, but it is about to move to the new one.
    const run4 = tagsFor(ep, 'run-4');
    await a.createEndpointConfig(configInput(ep, `${ep}-c-4`, `${ep}-m-1`, { tags: run4 }));
    const release = pool.hold();
    let rollback!: Promise<unknown>;
    try {
      const change = await a.createOrUpdateEndpoint({ endpointName: ep, configName: `${ep}-c-4`, tags: run4 });
      expect(change).toMatchObject({ action: 'updated', previousConfigName: `${ep}-c-2` });
      rollback = a.createOrUpdateEndpoint({ endpointName: ep, configName: `${ep}-c-2`, tags: run4 });
      await rollback.catch(() => undefined);
    } finally {
      release();
    }
    await pollUntilDone(() => a.awaitEndpointInService({ endpointName: ep, expectedConfigName: `${ep}-c-4` }), 'EndpointNotReady');
    expect(await failureOf(rollback)).toMatchObject({ type: 'EndpointBusy', nonRetryable: false });
  });

  it('an update that fails rolls back: awaitEndpointInService on the new config throws non-retryable EndpointUpdateFailed with the reason', async () => {
    const run3 = tagsFor(ep, 'run-3');
    await a.createModel(modelInput(ep, `${ep}-m-3`, { environment: { ...TINY_MODEL_ENV, HF_MODEL_ID: 'no-such-org/no-such-model' }, tags: run3 }));
    await a.createEndpointConfig(configInput(ep, `${ep}-c-3`, `${ep}-m-3`, { tags: run3 }));
    const change = await a.createOrUpdateEndpoint({ endpointName: ep, configName: `${ep}-c-3`, tags: run3 });
    expect(change).toMatchObject({ action: 'updated', previousConfigName: `${ep}-c-4` });

    const failure = await failureOf(pollUntilDone(() => a.awaitEndpointInService({ endpointName: ep, expectedConfigName: `${ep}-c-3` }), 'EndpointNotReady'));
    const described = await sm.send(new DescribeEndpointCommand({ EndpointName: ep }));
    expect(described).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: `${ep}-c-4` });
    expect(described.FailureReason).toContain('no-such-org/no-such-model');
    expect(failure).toMatchObject({ type: 'EndpointUpdateFailed', nonRetryable: true });
    expect(failure.message).toContain(described.FailureReason);
    expect(failure.message).toContain(`rolled back to ${ep}-c-4`);
    // Still serving on the old config.
    expect((await a.invokeEndpoint({ endpointName: ep, inputs: 'Once', parameters: { max_new_tokens: 2 } })).invokedVariant).toBe('AllTraffic');
  });

  it('findEndpointResources finds the endpoint and every config and model tagged with it, and nothing of other endpoints', async () => {
    // Another endpoint whose name contains this one's, so the name filter alone would match it.
    await a.createModel(modelInput(`${ep}-other`, `${ep}-other-m-1`));
    await a.createEndpointConfig(configInput(`${ep}-other`, `${ep}-other-c-1`, `${ep}-other-m-1`));
    // And an untagged config named like ours, made outside the workflows.
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: `${ep}-c-manual`,
        ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: `${ep}-m-1`, InstanceType: 'ml.m5.large', InitialInstanceCount: 1 }],
      }),
    );

    const found = await a.findEndpointResources({ endpointName: ep });
    expect(found.endpoint).toEqual({
      arn: expect.stringMatching(new RegExp(`:endpoint/${ep}$`)),
      status: 'InService',
      configName: `${ep}-c-4`,
      variantNames: ['AllTraffic'],
      // Teardown refuses an endpoint without it (unless force).
      createdBy: expect.any(String),
    });
    expect([...found.configNames].sort()).toEqual([`${ep}-c-1`, `${ep}-c-2`, `${ep}-c-3`, `${ep}-c-4`]);
    expect([...found.modelNames].sort()).toEqual([`${ep}-m-1`, `${ep}-m-2`, `${ep}-m-3`]);

    const other = await a.findEndpointResources({ endpointName: `${ep}-other` });
    expect(other).toEqual({ endpoint: undefined, configNames: [`${ep}-other-c-1`], modelNames: [`${ep}-other-m-1`] });

    expect(await a.findEndpointResources({ endpointName: 'never-deployed' })).toEqual({ endpoint: undefined, configNames: [], modelNames: [] });
  });

  it('deleteEndpoint, polled with awaitEndpointDeleted, removes it and stops its model processes; absent deletes return deleted false', async () => {
    expect(startedPids(pool).length).toBeGreaterThan(0);
    expect(await a.deleteEndpoint({ endpointName: ep })).toEqual({ deleted: true });
    await pollUntilDone(() => a.awaitEndpointDeleted({ endpointName: ep }), 'EndpointNotDeleted');

    expect(await a.describeEndpointStatus({ endpointName: ep })).toEqual({ status: 'NotFound' });
    expect((await a.findEndpointResources({ endpointName: ep })).endpoint).toBeUndefined();
    expect(pool.pick(ep)).toBeUndefined();
    expect(startedPids(pool).filter(isRunning)).toEqual([]);

    expect(await a.deleteEndpoint({ endpointName: ep })).toEqual({ deleted: false });
    await a.awaitEndpointDeleted({ endpointName: ep }); // already gone: returns at once

    for (const configName of [`${ep}-c-1`, `${ep}-c-2`, `${ep}-c-3`, `${ep}-c-4`, `${ep}-c-manual`, `${ep}-other-c-1`]) {
      expect(await a.deleteEndpointConfig({ configName })).toEqual({ deleted: true });
      expect(await a.deleteEndpointConfig({ configName })).toEqual({ deleted: false });
    }
    for (const modelName of [`${ep}-m-1`, `${ep}-m-2`, `${ep}-m-3`, `${ep}-other-m-1`]) {
      expect(await a.deleteModel({ modelName })).toEqual({ deleted: true });
      expect(await a.deleteModel({ modelName })).toEqual({ deleted: false });
    }
    expect(await a.findEndpointResources({ endpointName: ep })).toEqual({ endpoint: undefined, configNames: [], modelNames: [] });
  });

  it('awaitEndpointInService on an endpoint that does not exist is a non-retryable EndpointNotFound', async () => {
    expect(await failureOf(a.awaitEndpointInService({ endpointName: ep }))).toMatchObject({ type: 'EndpointNotFound', nonRetryable: true });
  });
});

describe('an endpoint whose model cannot start', () => {
  const ep = 'failing-ep';
  const tags = tagsFor(ep);

  it('ends Failed; awaitEndpointInService throws non-retryable EndpointFailed carrying the FailureReason', async () => {
    await a.createModel(modelInput(ep, `${ep}-m-1`, { environment: { ...TINY_MODEL_ENV, HF_MODEL_ID: 'no-such-org/no-such-model' } }));
    await a.createEndpointConfig(configInput(ep, `${ep}-c-1`, `${ep}-m-1`));
    expect((await a.createOrUpdateEndpoint({ endpointName: ep, configName: `${ep}-c-1`, tags })).action).toBe('created');

    const failure = await failureOf(pollUntilDone(() => a.awaitEndpointInService({ endpointName: ep }), 'EndpointNotReady'));
    const described = await sm.send(new DescribeEndpointCommand({ EndpointName: ep }));
    expect(described.EndpointStatus).toBe('Failed');
    expect(described.FailureReason).toContain('HF_MODEL_ID=no-such-org/no-such-model');
    expect(failure).toMatchObject({ type: 'EndpointFailed', nonRetryable: true });
    expect(failure.message).toContain(described.FailureReason);
    expect(failure.details?.[0]).toEqual({ failureReason: described.FailureReason });
    expect(await a.describeEndpointStatus({ endpointName: ep })).toMatchObject({ status: 'Failed', failureReason: described.FailureReason });
  });

  it('deploying onto the Failed endpoint again is a non-retryable EndpointFailed', async () => {
    const failure = await failureOf(a.createOrUpdateEndpoint({ endpointName: ep, configName: `${ep}-c-1`, tags }));
    expect(failure).toMatchObject({ type: 'EndpointFailed', nonRetryable: true });
    expect(failure.message).toContain('no-such-org/no-such-model');
  });

  it('awaitEndpointDeleted alone requests the delete of a Failed endpoint and waits until it is gone', async () => {
    const { notYet } = await pollUntilDone(() => a.awaitEndpointDeleted({ endpointName: ep }), 'EndpointNotDeleted');
    expect(notYet[0].message).toContain('delete requested');
    expect(await a.describeEndpointStatus({ endpointName: ep })).toEqual({ status: 'NotFound' });
    expect(await a.deleteEndpointConfig({ configName: `${ep}-c-1` })).toEqual({ deleted: true });
    expect(await a.deleteModel({ modelName: `${ep}-m-1` })).toEqual({ deleted: true });
  });
});

describe('after the suite', () => {
  it('nothing is left: no endpoint, config or model, and no model process runs', async () => {
    expect((await sm.send(new ListEndpointsCommand({}))).Endpoints).toEqual([]);
    expect((await sm.send(new ListEndpointConfigsCommand({}))).EndpointConfigs).toEqual([]);
    expect((await sm.send(new ListModelsCommand({}))).Models).toEqual([]);
    expect(startedPids(pool).length).toBeGreaterThan(0);
    expect(startedPids(pool).filter(isRunning)).toEqual([]);
  });
});
