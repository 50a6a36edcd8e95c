// Conformance of the SageMaker control-plane emulator, through @aws-sdk/client-sagemaker as
// the activities use it: shapes, AWS error codes and messages, the endpoint state machine
// against real model processes, tags, list pagination and filters, and persistence.
import { isRunning } from '../../dev/processes.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  AddTagsCommand,
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DeleteTagsCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  ListEndpointConfigsCommand,
  ListEndpointsCommand,
  ListModelsCommand,
  ListTagsCommand,
  ListTrainingJobsCommand,
  SageMakerClient,
  UpdateEndpointCommand,
  paginateListModels,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud } from '../../local/server.js';
import { recordingPool, type RecordingPool, SAGEMAKER_TRUST_POLICY, TGI_IMAGE, TINY_MODEL_ID, clientConfig, pidsOf, settledEndpoint } from './support.js';

const ACCOUNT = '123456789012';
const arn = (type: string, name: string, region = 'us-east-1') => `arn:aws:sagemaker:${region}:${ACCOUNT}:${type}/${name.toLowerCase()}`;

interface Cloud {
  cloud: LocalCloud;
  pool: RecordingPool;
  sm: SageMakerClient;
  iam: IAMClient;
}

async function start(stateDir: string): Promise<Cloud> {
  const pool = recordingPool(stateDir);
  const cloud = await startLocalCloud({ port: 0, stateDir, pool });
  return { cloud, pool, sm: new SageMakerClient(clientConfig(cloud.url)), iam: new IAMClient(clientConfig(cloud.url)) };
}

async function createRole(iam: IAMClient, name: string): Promise<string> {
  const { Role } = await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: SAGEMAKER_TRUST_POLICY }));
  return Role!.Arn!;
}

const tgiContainer = (image = TGI_IMAGE) => ({ Image: image, Environment: { HF_MODEL_ID: TINY_MODEL_ID, MAX_INPUT_LENGTH: '64' } });

const variant = (modelName: string, count = 1) => ({
  VariantName: 'AllTraffic',
  ModelName: modelName,
  InstanceType: 'ml.g5.xlarge' as const,
  InitialInstanceCount: count,
});

describe('SageMaker control plane', () => {
  let stateDir: string;
  let c: Cloud;
  let roleArn: string;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'control-plane-'));
    c = await start(stateDir);
    roleArn = await createRole(c.iam, 'sm-exec');
  });

  afterAll(async () => {
    await c?.cloud.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  describe('protocol', () => {
    it('reports an operation it does not implement as UnknownOperationException', async () => {
      await expect(c.sm.send(new ListTrainingJobsCommand({}))).rejects.toMatchObject({ name: 'UnknownOperationException' });
    });

    it('speaks JSON 1.1: epoch-second timestamps, errors with __type and x-amzn-ErrorType', async () => {
      await c.sm.send(new CreateModelCommand({ ModelName: 'raw-json', PrimaryContainer: tgiContainer(), ExecutionRoleArn: roleArn }));
      const call = (op: string, body: object) =>
        fetch(c.cloud.url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `SageMaker.${op}` },
          body: JSON.stringify(body),
        });
      const ok = await call('DescribeModel', { ModelName: 'raw-json' });
      const model = (await ok.json()) as { CreationTime: unknown };
      expect(ok.status).toBe(200);
      expect(typeof model.CreationTime).toBe('number');

      const missing = await call('DescribeModel', { ModelName: 'nope' });
      expect(missing.status).toBe(400);
      expect(missing.headers.get('x-amzn-errortype')).toBe('ValidationException');
      expect(await missing.json()).toEqual({
        __type: 'ValidationException',
        message: `Could not find model "${arn('model', 'nope')}".`,
      });
    });

    it('takes the region of new ARNs from the request signature', async () => {
      const west = new SageMakerClient(clientConfig(c.cloud.url, 'eu-west-1'));
      const { ModelArn } = await west.send(new CreateModelCommand({ ModelName: 'In-West', PrimaryContainer: tgiContainer() }));
      expect(ModelArn).toBe(arn('model', 'in-west', 'eu-west-1'));
    });
  });

  describe('models', () => {
    it('creates, describes and deletes a model with AWS shapes', async () => {
      const { ModelArn } = await c.sm.send(new CreateModelCommand({ ModelName: 'Tiny-Model', PrimaryContainer: tgiContainer(), ExecutionRoleArn: roleArn }));
      expect(ModelArn).toBe(arn('model', 'tiny-model'));

      const model = await c.sm.send(new DescribeModelCommand({ ModelName: 'Tiny-Model' }));
      expect(model).toMatchObject({
        ModelName: 'Tiny-Model',
        ModelArn,
        ExecutionRoleArn: roleArn,
        PrimaryContainer: tgiContainer(),
      });
      expect(model.CreationTime).toBeInstanceOf(Date);

      await expect(
        c.sm.send(new CreateModelCommand({ ModelName: 'tiny-model', PrimaryContainer: tgiContainer(), ExecutionRoleArn: roleArn })),
      ).rejects.toMatchObject({ name: 'ValidationException', message: `Cannot create already existing model "${ModelArn}".` });

      await c.sm.send(new DeleteModelCommand({ ModelName: 'Tiny-Model' }));
      await expect(c.sm.send(new DescribeModelCommand({ ModelName: 'Tiny-Model' }))).rejects.toMatchObject({
        name: 'ValidationException',
        message: `Could not find model "${ModelArn}".`,
      });
      await expect(c.sm.send(new DeleteModelCommand({ ModelName: 'Tiny-Model' }))).rejects.toMatchObject({
        name: 'ValidationException',
      });
    });

    it('validates names and required fields like AWS, all problems in one message', async () => {
      await expect(c.sm.send(new CreateModelCommand({ ModelName: 'bad_name', PrimaryContainer: tgiContainer() }))).rejects.toMatchObject({
        name: 'ValidationException',
        message:
          "1 validation error detected: Value 'bad_name' at 'modelName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?",
      });
      await expect(c.sm.send(new CreateEndpointConfigCommand({ EndpointConfigName: '-x', ProductionVariants: undefined }))).rejects.toMatchObject({
        name: 'ValidationException',
        message: expect.stringMatching(/^2 validation errors detected: .*'endpointConfigName'.*; Value null at 'productionVariants'/),
      });
      await expect(c.sm.send(new CreateModelCommand({ ModelName: 'no-container' }))).rejects.toMatchObject({
        name: 'ValidationException',
      });
    });

    it('refuses an execution role SageMaker could not assume', async () => {
      const missing = `arn:aws:iam::${ACCOUNT}:role/not-created`;
      await expect(
        c.sm.send(new CreateModelCommand({ ModelName: 'no-role', PrimaryContainer: tgiContainer(), ExecutionRoleArn: missing })),
      ).rejects.toMatchObject({
        name: 'ValidationException',
        message: `Could not assume role ${missing}. Please ensure that the role exists and allows principal 'sagemaker.amazonaws.com' to assume the role.`,
      });
      const { Role } = await c.iam.send(
        new CreateRoleCommand({
          RoleName: 'lambda-only',
          AssumeRolePolicyDocument: SAGEMAKER_TRUST_POLICY.replace('sagemaker.amazonaws.com', 'lambda.amazonaws.com'),
        }),
      );
      await expect(
        c.sm.send(new CreateModelCommand({ ModelName: 'wrong-trust', PrimaryContainer: tgiContainer(), ExecutionRoleArn: Role!.Arn })),
      ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('Could not assume role') });
    });
  });

  describe('endpoint configs', () => {
    it('requires the models it names to exist', async () => {
      await expect(
        c.sm.send(new CreateEndpointConfigCommand({ EndpointConfigName: 'cfg-orphan', ProductionVariants: [variant('ghost')] })),
      ).rejects.toMatchObject({ name: 'ValidationException', message: `Could not find model "${arn('model', 'ghost')}".` });
    });

    it('creates, describes, lists and deletes a config', async () => {
      await c.sm.send(new CreateModelCommand({ ModelName: 'cfg-model', PrimaryContainer: tgiContainer(), ExecutionRoleArn: roleArn }));
      const { EndpointConfigArn } = await c.sm.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: 'cfg-one',
          ProductionVariants: [{ ...variant('cfg-model', 2), InitialVariantWeight: 1, ContainerStartupHealthCheckTimeoutInSeconds: 300 }],
        }),
      );
      expect(EndpointConfigArn).toBe(arn('endpoint-config', 'cfg-one'));
      const described = await c.sm.send(new DescribeEndpointConfigCommand({ EndpointConfigName: 'cfg-one' }));
      expect(described).toMatchObject({
        EndpointConfigName: 'cfg-one',
        EndpointConfigArn,
        ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'cfg-model', InitialInstanceCount: 2, InstanceType: 'ml.g5.xlarge' }],
      });
      expect(described.CreationTime).toBeInstanceOf(Date);
      const listed = await c.sm.send(new ListEndpointConfigsCommand({ NameContains: 'cfg-one' }));
      expect(listed.EndpointConfigs?.map((e) => e.EndpointConfigName)).toEqual(['cfg-one']);

      await expect(
        c.sm.send(new CreateEndpointConfigCommand({ EndpointConfigName: 'cfg-one', ProductionVariants: [variant('cfg-model')] })),
      ).rejects.toMatchObject({ message: `Cannot create already existing endpoint configuration "${EndpointConfigArn}".` });
      await c.sm.send(new DeleteEndpointConfigCommand({ EndpointConfigName: 'cfg-one' }));
      await expect(c.sm.send(new DescribeEndpointConfigCommand({ EndpointConfigName: 'cfg-one' }))).rejects.toMatchObject({
        name: 'ValidationException',
        message: `Could not find endpoint configuration "${EndpointConfigArn}".`,
      });
    });
  });

  describe('endpoints', () => {
    beforeAll(async () => {
      await c.sm.send(new CreateModelCommand({ ModelName: 'ep-model', PrimaryContainer: tgiContainer(), ExecutionRoleArn: roleArn }));
      await c.sm.send(new CreateEndpointConfigCommand({ EndpointConfigName: 'ep-cfg-1', ProductionVariants: [variant('ep-model')] }));
      await c.sm.send(new CreateEndpointConfigCommand({ EndpointConfigName: 'ep-cfg-2', ProductionVariants: [variant('ep-model', 2)] }));
      await c.sm.send(
        new CreateModelCommand({
          ModelName: 'unknown-image',
          PrimaryContainer: tgiContainer('123456789012.dkr.ecr.us-east-1.amazonaws.com/my-own-server:1'),
          ExecutionRoleArn: roleArn,
        }),
      );
      await c.sm.send(new CreateEndpointConfigCommand({ EndpointConfigName: 'ep-cfg-bad', ProductionVariants: [variant('unknown-image')] }));
    });

    it('refuses a config that does not exist', async () => {
      await expect(c.sm.send(new CreateEndpointCommand({ EndpointName: 'ep-x', EndpointConfigName: 'nope' }))).rejects.toMatchObject({
        name: 'ValidationException',
        message: `Could not find endpoint configuration "${arn('endpoint-config', 'nope')}".`,
      });
      await expect(c.sm.send(new DescribeEndpointCommand({ EndpointName: 'ep-x' }))).rejects.toMatchObject({
        name: 'ValidationException',
        message: `Could not find endpoint "${arn('endpoint', 'ep-x')}".`,
      });
    });

    it('goes Creating → InService with real model processes, updates blue/green, and deletes', async () => {
      const release = c.pool.hold();
      const { EndpointArn } = await c.sm.send(new CreateEndpointCommand({ EndpointName: 'Blue-Green', EndpointConfigName: 'ep-cfg-1' }));
      expect(EndpointArn).toBe(arn('endpoint', 'blue-green'));
      const creating = await c.sm.send(new DescribeEndpointCommand({ EndpointName: 'Blue-Green' }));
      expect(creating).toMatchObject({ EndpointStatus: 'Creating', EndpointConfigName: 'ep-cfg-1', EndpointArn });
      expect(creating.CreationTime).toBeInstanceOf(Date);
      expect(creating.LastModifiedTime).toBeInstanceOf(Date);
      await expect(c.sm.send(new CreateEndpointCommand({ EndpointName: 'blue-green', EndpointConfigName: 'ep-cfg-1' }))).rejects.toMatchObject({
        name: 'ValidationException',
        message: `Cannot create already existing endpoint "${EndpointArn}".`,
      });
      await expect(c.sm.send(new UpdateEndpointCommand({ EndpointName: 'Blue-Green', EndpointConfigName: 'ep-cfg-2' }))).rejects.toMatchObject({
        name: 'ValidationException',
        message: `Cannot update in-progress endpoint "${EndpointArn}".`,
      });
      // The runtime reads the status the control plane keeps.
      const runtime = new SageMakerRuntimeClient(clientConfig(c.cloud.url));
      const invoke = () =>
        runtime.send(
          new InvokeEndpointCommand({
            EndpointName: 'Blue-Green',
            ContentType: 'application/json',
            Body: JSON.stringify({ inputs: 'Once upon a time', parameters: { max_new_tokens: 4 } }),
          }),
        );
      await expect(invoke()).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('Creating') });
      release();

      const live = await settledEndpoint(c.sm, 'Blue-Green');
      expect(live).toMatchObject({
        EndpointStatus: 'InService',
        EndpointConfigName: 'ep-cfg-1',
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            CurrentInstanceCount: 1,
            DesiredInstanceCount: 1,
            CurrentWeight: 1,
            DeployedImages: [{ SpecifiedImage: TGI_IMAGE, ResolvedImage: expect.stringMatching(/@sha256:[0-9a-f]{64}$/) }],
          },
        ],
      });
      expect(live!.FailureReason).toBeUndefined();
      const answer = await invoke();
      expect(JSON.parse(Buffer.from(answer.Body!).toString('utf8'))).toEqual([{ generated_text: expect.any(String) }]);
      const blue = c.pool.fleets.find((f) => f.endpointName === 'Blue-Green')!.fleet;

      // The update launches a second fleet while the first keeps serving.
      const releaseGreen = c.pool.hold();
      await c.sm.send(new UpdateEndpointCommand({ EndpointName: 'Blue-Green', EndpointConfigName: 'ep-cfg-2' }));
      const updating = await c.sm.send(new DescribeEndpointCommand({ EndpointName: 'Blue-Green' }));
      expect(updating).toMatchObject({
        EndpointStatus: 'Updating',
        EndpointConfigName: 'ep-cfg-1',
        PendingDeploymentSummary: { EndpointConfigName: 'ep-cfg-2', ProductionVariants: [{ VariantName: 'AllTraffic', DesiredInstanceCount: 2 }] },
      });
      expect(c.pool.pick('Blue-Green')).toBeDefined();
      expect(pidsOf(blue).every(isRunning)).toBe(true);
      releaseGreen();

      const green = await settledEndpoint(c.sm, 'Blue-Green');
      expect(green).toMatchObject({
        EndpointStatus: 'InService',
        EndpointConfigName: 'ep-cfg-2',
        ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: 2, DesiredInstanceCount: 2 }],
      });
      expect(green!.PendingDeploymentSummary).toBeUndefined();
      expect(pidsOf(blue).some(isRunning)).toBe(false);

      // A failed update rolls back: the endpoint stays on the old config, in service, with the reason.
      await c.sm.send(new UpdateEndpointCommand({ EndpointName: 'Blue-Green', EndpointConfigName: 'ep-cfg-bad' }));
      const rolledBack = await settledEndpoint(c.sm, 'Blue-Green');
      expect(rolledBack).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'ep-cfg-2' });
      expect(rolledBack!.FailureReason).toMatch(/^Update to endpoint configuration "ep-cfg-bad" failed and was rolled back: .*my-own-server/);
      expect(c.pool.pick('Blue-Green')).toBeDefined();

      const serving = c.pool.fleets.filter((f) => f.endpointName === 'Blue-Green').at(-1)!.fleet;
      await c.sm.send(new DeleteEndpointCommand({ EndpointName: 'Blue-Green' }));
      // Deleting may already be over (stopping a process takes milliseconds): Deleting or gone.
      const deleting = await c.sm
        .send(new DescribeEndpointCommand({ EndpointName: 'Blue-Green' }))
        .catch((err: Error) => ({ EndpointStatus: err.name === 'ValidationException' ? 'gone' : String(err) }));
      expect(['Deleting', 'gone']).toContain(deleting.EndpointStatus);
      expect(await settledEndpoint(c.sm, 'Blue-Green')).toBeUndefined();
      expect(pidsOf(serving).some(isRunning)).toBe(false);
      expect(c.pool.pick('Blue-Green')).toBeUndefined();
    });

    it('fails an endpoint whose container cannot start, with the reason', async () => {
      await c.sm.send(new CreateEndpointCommand({ EndpointName: 'ep-broken', EndpointConfigName: 'ep-cfg-bad' }));
      const failed = await settledEndpoint(c.sm, 'ep-broken');
      expect(failed).toMatchObject({ EndpointStatus: 'Failed', FailureReason: expect.stringContaining('my-own-server') });
      await expect(c.sm.send(new UpdateEndpointCommand({ EndpointName: 'ep-broken', EndpointConfigName: 'ep-cfg-1' }))).rejects.toMatchObject({
        name: 'ValidationException',
        message: `Cannot update failed endpoint "${arn('endpoint', 'ep-broken')}".`,
      });
      const listed = await c.sm.send(new ListEndpointsCommand({ StatusEquals: 'Failed' }));
      expect(listed.Endpoints?.map((e) => e.EndpointName)).toContain('ep-broken');
      await c.sm.send(new DeleteEndpointCommand({ EndpointName: 'ep-broken' }));
      expect(await settledEndpoint(c.sm, 'ep-broken')).toBeUndefined();
    });

    it('refuses to delete or update an endpoint while it is Creating or Updating, as AWS does', async () => {
      const inProgress = {
        name: 'ValidationException',
        message: `Cannot update in-progress endpoint "${arn('endpoint', 'ep-busy')}".`,
      };
      let release = c.pool.hold();
      await c.sm.send(new CreateEndpointCommand({ EndpointName: 'ep-busy', EndpointConfigName: 'ep-cfg-1' }));
      await expect(c.sm.send(new DeleteEndpointCommand({ EndpointName: 'ep-busy' }))).rejects.toMatchObject(inProgress);
      await expect(c.sm.send(new UpdateEndpointCommand({ EndpointName: 'ep-busy', EndpointConfigName: 'ep-cfg-2' }))).rejects.toMatchObject(inProgress);
      // The refused delete changed nothing: the create carries on.
      expect((await c.sm.send(new DescribeEndpointCommand({ EndpointName: 'ep-busy' }))).EndpointStatus).toBe('Creating');
      release();
      expect(await settledEndpoint(c.sm, 'ep-busy')).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'ep-cfg-1' });

      release = c.pool.hold();
      await c.sm.send(new UpdateEndpointCommand({ EndpointName: 'ep-busy', EndpointConfigName: 'ep-cfg-2' }));
      await expect(c.sm.send(new DeleteEndpointCommand({ EndpointName: 'ep-busy' }))).rejects.toMatchObject(inProgress);
      await expect(c.sm.send(new UpdateEndpointCommand({ EndpointName: 'ep-busy', EndpointConfigName: 'ep-cfg-1' }))).rejects.toMatchObject(inProgress);
      expect((await c.sm.send(new DescribeEndpointCommand({ EndpointName: 'ep-busy' }))).EndpointStatus).toBe('Updating');
      release();
      expect(await settledEndpoint(c.sm, 'ep-busy')).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'ep-cfg-2' });

      // Settled, it deletes; AWS also lets the config and model it was made from go first.
      await c.sm.send(new DeleteEndpointCommand({ EndpointName: 'ep-busy' }));
      expect(await settledEndpoint(c.sm, 'ep-busy')).toBeUndefined();
      expect(c.pool.pick('ep-busy')).toBeUndefined();
    });
  });

  describe('tags', () => {
    it('adds (overwriting by key), lists and deletes tags, including those given at creation', async () => {
      const { ModelArn } = await c.sm.send(
        new CreateModelCommand({
          ModelName: 'tagged',
          PrimaryContainer: tgiContainer(),
          Tags: [
            { Key: 'project', Value: 'llmops' },
            { Key: 'stage', Value: 'dev' },
          ],
        }),
      );
      await c.sm.send(
        new AddTagsCommand({
          ResourceArn: ModelArn,
          Tags: [
            { Key: 'stage', Value: 'prod' },
            { Key: 'owner', Value: 'me' },
          ],
        }),
      );
      const { Tags } = await c.sm.send(new ListTagsCommand({ ResourceArn: ModelArn }));
      expect(Tags).toEqual([
        { Key: 'project', Value: 'llmops' },
        { Key: 'stage', Value: 'prod' },
        { Key: 'owner', Value: 'me' },
      ]);
      await c.sm.send(new DeleteTagsCommand({ ResourceArn: ModelArn, TagKeys: ['project', 'owner'] }));
      expect((await c.sm.send(new ListTagsCommand({ ResourceArn: ModelArn }))).Tags).toEqual([{ Key: 'stage', Value: 'prod' }]);

      await c.sm.send(new DeleteModelCommand({ ModelName: 'tagged' }));
      await expect(c.sm.send(new ListTagsCommand({ ResourceArn: ModelArn }))).rejects.toMatchObject({
        name: 'ValidationException',
        message: `Could not find model "${ModelArn}".`,
      });
    });
  });

  describe('listing', () => {
    it('filters by name and creation time, sorts, and paginates with NextToken', async () => {
      const names = ['page-c', 'page-a', 'page-e', 'page-b', 'page-d'];
      let midpoint = new Date();
      for (const [i, name] of names.entries()) {
        if (i === 3) {
          // Creation times are in milliseconds and CreationTimeAfter is inclusive (>=), so the
          // midpoint must fall in a millisecond of its own: on loopback a create and the next
          // `new Date()` can share one.
          await waitForNextMillisecond();
          midpoint = new Date();
          await waitForNextMillisecond();
        }
        await c.sm.send(new CreateModelCommand({ ModelName: name, PrimaryContainer: tgiContainer() }));
      }

      const byName = await c.sm.send(new ListModelsCommand({ NameContains: 'PAGE-', SortBy: 'Name', SortOrder: 'Ascending' }));
      expect(byName.Models?.map((m) => m.ModelName)).toEqual(['page-a', 'page-b', 'page-c', 'page-d', 'page-e']);
      expect(byName.NextToken).toBeUndefined();

      const newestFirst = await c.sm.send(new ListModelsCommand({ NameContains: 'page-' }));
      expect(newestFirst.Models?.map((m) => m.ModelName)).toEqual([...names].reverse());

      const pages: string[][] = [];
      for await (const page of paginateListModels({ client: c.sm, pageSize: 2 }, { NameContains: 'page-', SortBy: 'Name' })) {
        pages.push(page.Models!.map((m) => m.ModelName!));
      }
      expect(pages).toEqual([['page-e', 'page-d'], ['page-c', 'page-b'], ['page-a']]);

      const recent = await c.sm.send(new ListModelsCommand({ NameContains: 'page-', CreationTimeAfter: midpoint, SortBy: 'Name' }));
      expect(recent.Models?.map((m) => m.ModelName)).toEqual(['page-d', 'page-b']);

      await expect(c.sm.send(new ListModelsCommand({ MaxResults: 101 }))).rejects.toMatchObject({
        name: 'ValidationException',
        message: expect.stringContaining("at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100"),
      });
      await expect(c.sm.send(new ListModelsCommand({ NextToken: 'garbage' }))).rejects.toMatchObject({ name: 'ValidationException' });
    });
  });
});

describe('SageMaker control plane across a restart', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'control-plane-restart-'));
  let c: Cloud | undefined;

  afterAll(async () => {
    await c?.cloud.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('keeps resources and tags, relaunches InService endpoints, and keeps moto state', async () => {
    c = await start(stateDir);
    const roleArn = await createRole(c.iam, 'persisted-role');
    await c.sm.send(
      new CreateModelCommand({ ModelName: 'kept', PrimaryContainer: tgiContainer(), ExecutionRoleArn: roleArn, Tags: [{ Key: 'k', Value: 'v' }] }),
    );
    await c.sm.send(new CreateEndpointConfigCommand({ EndpointConfigName: 'kept-cfg', ProductionVariants: [variant('kept')] }));
    await c.sm.send(new CreateEndpointCommand({ EndpointName: 'kept-ep', EndpointConfigName: 'kept-cfg' }));
    const before = await settledEndpoint(c.sm, 'kept-ep');
    expect(before?.EndpointStatus).toBe('InService');
    const firstPids = pidsOf(c.pool.fleets.at(-1)!.fleet);
    await c.cloud.close();
    expect(firstPids.some(isRunning)).toBe(false);

    c = await start(stateDir);
    const model = await c.sm.send(new DescribeModelCommand({ ModelName: 'kept' }));
    expect(model.ModelArn).toBe(arn('model', 'kept'));
    expect((await c.sm.send(new ListTagsCommand({ ResourceArn: model.ModelArn }))).Tags).toEqual([{ Key: 'k', Value: 'v' }]);
    expect((await c.sm.send(new DescribeEndpointConfigCommand({ EndpointConfigName: 'kept-cfg' }))).ProductionVariants).toHaveLength(1);

    const after = await settledEndpoint(c.sm, 'kept-ep');
    expect(after).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'kept-cfg', ProductionVariants: [{ CurrentInstanceCount: 1 }] });
    expect(after!.CreationTime).toEqual(before!.CreationTime);
    expect(c.pool.fleets.filter((f) => f.endpointName === 'kept-ep')).toHaveLength(1);
    expect(c.pool.pick('kept-ep')).toBeDefined();

    // The role came back through the moto journal, so SageMaker can still assume it.
    await c.sm.send(new CreateModelCommand({ ModelName: 'after-restart', PrimaryContainer: tgiContainer(), ExecutionRoleArn: roleArn }));
    const { Endpoints } = await c.sm.send(new ListEndpointsCommand({}));
    expect(Endpoints?.map((e) => e.EndpointName)).toEqual(['kept-ep']);
  });
});

async function waitForNextMillisecond(): Promise<void> {
  const now = Date.now();
  while (Date.now() <= now) await new Promise((resolve) => setImmediate(resolve));
}
