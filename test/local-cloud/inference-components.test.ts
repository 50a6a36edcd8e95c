// Inference components on the local cloud, through the AWS SDK, boto3 and the aws CLI, with real
// model processes (one per copy): every IC operation, states and AWS's errors, placement onto the
// endpoint's instances with managed instance scaling, rolling updates (and their rollback), and
// runtime routing with and without InferenceComponentName, streamed and not.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateInferenceComponentCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DeleteInferenceComponentCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeInferenceComponentCommand,
  type DescribeInferenceComponentOutput,
  ListInferenceComponentsCommand,
  ListTagsCommand,
  SageMakerClient,
  UpdateInferenceComponentCommand,
  UpdateInferenceComponentRuntimeConfigCommand,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, InvokeEndpointWithResponseStreamCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../dev/processes.js';
import { awsCli, venvPython } from '../../dev/tools.js';
import { startLocalCloud, type LocalCloud } from '../../local/server.js';
import { parseSse, streamedText, type TgiStreamEvent } from './sse.js';
import { SAGEMAKER_TRUST_POLICY, TGI_IMAGE, TINY_MODEL_ID, awsEnv, clientConfig, modelProcessPids, recordingPool, settledEndpoint } from './support.js';

const run = promisify(execFile);
const ACCOUNT = '123456789012';
const arn = (type: string, name: string) => `arn:aws:sagemaker:us-east-1:${ACCOUNT}:${type}/${name.toLowerCase()}`;
const PROMPT = JSON.stringify({ inputs: 'Once upon a time', parameters: { max_new_tokens: 4 } });

/** Waits out Creating/Updating/Deleting; undefined once the component is gone. */
async function settledComponent(sm: SageMakerClient, name: string): Promise<DescribeInferenceComponentOutput | undefined> {
  let last: DescribeInferenceComponentOutput | undefined;
  await waitUntil(
    `inference component ${name} to settle`,
    async () => {
      try {
        last = await sm.send(new DescribeInferenceComponentCommand({ InferenceComponentName: name }));
      } catch (err) {
        if ((err as Error).name !== 'ValidationException') throw err;
        last = undefined;
        return true;
      }
      return !['Creating', 'Updating', 'Deleting'].includes(last.InferenceComponentStatus!);
    },
    { timeoutMs: 120_000 },
  );
  return last;
}

describe('inference components', () => {
  let stateDir: string;
  let cloud: LocalCloud;
  let sm: SageMakerClient;
  let runtime: SageMakerRuntimeClient;
  let roleArn: string;

  /** A raw runtime call (unsigned, as curl would), to read the local-only X-Local-Cloud-Copy header. */
  const rawInvoke = (endpoint: string, component?: string) =>
    fetch(`${cloud.url}/endpoints/${endpoint}/invocations`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(component && { 'X-Amzn-SageMaker-Inference-Component': component }) },
      body: PROMPT,
    });

  const spec = (modelName: string, cpus: number, memory = 1024) => ({
    ModelName: modelName,
    ComputeResourceRequirements: { NumberOfCpuCoresRequired: cpus, MinMemoryRequiredInMb: memory },
  });

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'inference-components-'));
    cloud = await startLocalCloud({ port: 0, stateDir, pool: recordingPool(stateDir) });
    sm = new SageMakerClient(clientConfig(cloud.url));
    runtime = new SageMakerRuntimeClient(clientConfig(cloud.url));
    const iam = new IAMClient(clientConfig(cloud.url));
    roleArn = (await iam.send(new CreateRoleCommand({ RoleName: 'ic-exec', AssumeRolePolicyDocument: SAGEMAKER_TRUST_POLICY }))).Role!.Arn!;
    for (const [name, modelId] of [
      ['tiny', TINY_MODEL_ID],
      ['missing-weights', 'nobody/no-such-model'],
    ]) {
      await sm.send(
        new CreateModelCommand({ ModelName: name, ExecutionRoleArn: roleArn, PrimaryContainer: { Image: TGI_IMAGE, Environment: { HF_MODEL_ID: modelId } } }),
      );
    }
    // ml.m5.large: 2 vCPUs, 8 GiB. One instance to start with, managed scaling between 0 and 2.
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'ic-cfg',
        ExecutionRoleArn: roleArn,
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            InstanceType: 'ml.m5.large',
            InitialInstanceCount: 1,
            ManagedInstanceScaling: { Status: 'ENABLED', MinInstanceCount: 0, MaxInstanceCount: 2 },
            RoutingConfig: { RoutingStrategy: 'LEAST_OUTSTANDING_REQUESTS' },
          },
        ],
      }),
    );
    await sm.send(new CreateEndpointCommand({ EndpointName: 'ic-ep', EndpointConfigName: 'ic-cfg' }));
    expect((await settledEndpoint(sm, 'ic-ep'))?.EndpointStatus).toBe('InService');
  }, 60_000);

  afterAll(async () => {
    await cloud?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('shows an inference-component endpoint as AWS does: no model in the variant, managed scaling, routing', async () => {
    const config = await sm.send(new DescribeEndpointConfigCommand({ EndpointConfigName: 'ic-cfg' }));
    expect(config.ExecutionRoleArn).toBe(roleArn);
    expect(config.ProductionVariants![0].ModelName).toBeUndefined();
    expect(config.ProductionVariants![0].ManagedInstanceScaling).toEqual({ Status: 'ENABLED', MinInstanceCount: 0, MaxInstanceCount: 2 });
    const endpoint = await sm.send(new DescribeEndpointCommand({ EndpointName: 'ic-ep' }));
    expect(endpoint.ProductionVariants).toEqual([
      expect.objectContaining({
        VariantName: 'AllTraffic',
        CurrentInstanceCount: 1,
        ManagedInstanceScaling: { Status: 'ENABLED', MinInstanceCount: 0, MaxInstanceCount: 2 },
        RoutingConfig: { RoutingStrategy: 'LEAST_OUTSTANDING_REQUESTS' },
      }),
    ]);
    expect(endpoint.ProductionVariants![0].DeployedImages).toBeUndefined();
  });

  it('refuses what AWS refuses, before anything is created', async () => {
    await expect(
      sm.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: 'bad-scaling',
          ProductionVariants: [
            {
              VariantName: 'v',
              ModelName: 'tiny',
              InstanceType: 'ml.m5.large',
              InitialInstanceCount: 1,
              ManagedInstanceScaling: { Status: 'ENABLED', MaxInstanceCount: 2 },
            },
          ],
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException', message: 'ManagedInstanceScaling is only supported for inference component endpoints.' });
    const create = (overrides: object) =>
      sm.send(
        new CreateInferenceComponentCommand({
          InferenceComponentName: 'refused',
          EndpointName: 'ic-ep',
          Specification: spec('tiny', 1),
          RuntimeConfig: { CopyCount: 1 },
          ...overrides,
        }),
      );
    await expect(create({ RuntimeConfig: { CopyCount: 0 } })).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Inference components copy count an integer larger than 0',
    });
    await expect(create({ InferenceComponentName: 'bad_name' })).rejects.toMatchObject({
      message: expect.stringContaining("Value 'bad_name' at 'inferenceComponentName' failed to satisfy constraint"),
    });
    await expect(create({ Specification: spec('tiny', 4) })).rejects.toMatchObject({
      message: expect.stringContaining('4 CPU cores (the instance has 2)'),
    });
    await expect(create({ Specification: { ModelName: 'tiny', ComputeResourceRequirements: { MinMemoryRequiredInMb: 64 } } })).rejects.toMatchObject({
      message: expect.stringContaining("Value '64' at 'specification.computeResourceRequirements.minMemoryRequiredInMb'"),
    });
    await expect(create({ Specification: spec('nope', 1) })).rejects.toMatchObject({ message: `Could not find model "${arn('model', 'nope')}".` });
    await expect(create({ EndpointName: 'nope' })).rejects.toMatchObject({ message: `Could not find endpoint "${arn('endpoint', 'nope')}".` });
    await expect(sm.send(new DescribeInferenceComponentCommand({ InferenceComponentName: 'refused' }))).rejects.toMatchObject({
      message: `Could not find inference component "${arn('inference-component', 'refused')}".`,
    });
  });

  it('creates a component whose copies are model processes placed on one instance, and routes to both', async () => {
    const before = modelProcessPids().length;
    const { InferenceComponentArn } = await sm.send(
      new CreateInferenceComponentCommand({
        InferenceComponentName: 'llm',
        EndpointName: 'ic-ep',
        VariantName: 'AllTraffic',
        Specification: spec('tiny', 1),
        RuntimeConfig: { CopyCount: 2 },
        Tags: [{ Key: 'team', Value: 'ml' }],
      }),
    );
    expect(InferenceComponentArn).toBe(arn('inference-component', 'llm'));
    const creating = await sm.send(new DescribeInferenceComponentCommand({ InferenceComponentName: 'llm' }));
    expect(creating.InferenceComponentStatus).toBe('Creating');
    const ic = await settledComponent(sm, 'llm');
    expect(ic).toMatchObject({
      InferenceComponentStatus: 'InService',
      EndpointName: 'ic-ep',
      EndpointArn: arn('endpoint', 'ic-ep'),
      VariantName: 'AllTraffic',
      Specification: { ModelName: 'tiny', ComputeResourceRequirements: { NumberOfCpuCoresRequired: 1, MinMemoryRequiredInMb: 1024 } },
      RuntimeConfig: { DesiredCopyCount: 2, CurrentCopyCount: 2 },
    });
    expect(ic?.FailureReason).toBeUndefined();
    expect(modelProcessPids().length).toBe(before + 2);
    // Two 1-CPU copies fit on one ml.m5.large: no instance was added.
    expect((await sm.send(new DescribeEndpointCommand({ EndpointName: 'ic-ep' }))).ProductionVariants![0].CurrentInstanceCount).toBe(1);
    expect((await sm.send(new ListTagsCommand({ ResourceArn: InferenceComponentArn }))).Tags).toEqual([{ Key: 'team', Value: 'ml' }]);

    const servedBy = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const res = await rawInvoke('ic-ep', 'llm');
      expect(res.status).toBe(200);
      expect(((await res.json()) as { generated_text: string }[])[0].generated_text).toEqual(expect.any(String));
      servedBy.add(res.headers.get('x-local-cloud-copy')!);
    }
    expect(servedBy.size).toBe(2);

    const out = await runtime.send(
      new InvokeEndpointCommand({ EndpointName: 'ic-ep', InferenceComponentName: 'llm', ContentType: 'application/json', Body: PROMPT }),
    );
    expect(out.InvokedProductionVariant).toBe('AllTraffic');
    expect(JSON.parse(new TextDecoder().decode(out.Body))[0].generated_text).toEqual(expect.any(String));
  });

  it('streams through a component', async () => {
    const out = await runtime.send(
      new InvokeEndpointWithResponseStreamCommand({
        EndpointName: 'ic-ep',
        InferenceComponentName: 'llm',
        ContentType: 'application/json',
        Body: JSON.stringify({ inputs: 'Once upon a time', parameters: { max_new_tokens: 4 }, stream: true }),
      }),
    );
    let raw = '';
    for await (const event of out.Body!) if (event.PayloadPart?.Bytes) raw += new TextDecoder().decode(event.PayloadPart.Bytes);
    const events = parseSse(raw) as TgiStreamEvent[];
    expect(events.length).toBeGreaterThan(0);
    expect(typeof streamedText(events)).toBe('string');
  });

  it('refuses invocations without a component name, or naming an unknown one, with ValidationError', async () => {
    await expect(runtime.send(new InvokeEndpointCommand({ EndpointName: 'ic-ep', ContentType: 'application/json', Body: PROMPT }))).rejects.toMatchObject({
      name: 'ValidationError',
      message:
        'Inference Component Name header is required for endpoints to which you plan to deploy inference components. Please include Inference Component Name header or consider using SageMaker models.',
    });
    await expect(
      runtime.send(new InvokeEndpointCommand({ EndpointName: 'ic-ep', InferenceComponentName: 'ghost', ContentType: 'application/json', Body: PROMPT })),
    ).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('Inference Component ghost') });
  });

  it('lists components with AWS filters, sorting and pagination; boto3 and the aws CLI see them too', async () => {
    const list = (input: object) => sm.send(new ListInferenceComponentsCommand(input));
    expect((await list({ EndpointNameEquals: 'ic-ep' })).InferenceComponents!.map((c) => c.InferenceComponentName)).toEqual(['llm']);
    expect((await list({ EndpointNameEquals: 'other' })).InferenceComponents).toEqual([]);
    expect((await list({ VariantNameEquals: 'AllTraffic', StatusEquals: 'InService', NameContains: 'll' })).InferenceComponents).toHaveLength(1);
    expect((await list({ StatusEquals: 'Failed' })).InferenceComponents).toEqual([]);
    expect((await list({ CreationTimeAfter: new Date(Date.now() + 60_000) })).InferenceComponents).toEqual([]);
    await expect(list({ SortBy: 'Size' })).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining("at 'sortBy'") });

    const script = [
      'import boto3, json',
      "sm = boto3.client('sagemaker')",
      "ic = sm.describe_inference_component(InferenceComponentName='llm')",
      "rt = boto3.client('sagemaker-runtime')",
      "out = rt.invoke_endpoint(EndpointName='ic-ep', InferenceComponentName='llm', ContentType='application/json', Body=json.dumps({'inputs': 'Hi', 'parameters': {'max_new_tokens': 2}}))",
      "print(json.dumps({'status': ic['InferenceComponentStatus'], 'copies': ic['RuntimeConfig']['CurrentCopyCount'], 'variant': out['InvokedProductionVariant']}))",
    ].join('\n');
    const { stdout } = await run(venvPython(), ['-c', script], { env: awsEnv(cloud.url) });
    expect(JSON.parse(stdout)).toEqual({ status: 'InService', copies: 2, variant: 'AllTraffic' });

    const cli = await run(
      awsCli(),
      ['--endpoint-url', cloud.url, '--output', 'json', 'sagemaker', 'list-inference-components', '--endpoint-name-equals', 'ic-ep'],
      {
        env: awsEnv(cloud.url),
      },
    );
    expect(
      (JSON.parse(cli.stdout) as { InferenceComponents: { InferenceComponentName: string }[] }).InferenceComponents.map((c) => c.InferenceComponentName),
    ).toEqual(['llm']);
  });

  it('rolls a new spec out copy by copy, and rolls back when a new copy cannot start', async () => {
    const oldCopies = new Set<string>();
    for (let i = 0; i < 2; i++) oldCopies.add((await rawInvoke('ic-ep', 'llm')).headers.get('x-local-cloud-copy')!);
    const deploymentConfig = { RollingUpdatePolicy: { MaximumBatchSize: { Type: 'COPY_COUNT' as const, Value: 1 }, WaitIntervalInSeconds: 0 } };
    await sm.send(
      new UpdateInferenceComponentCommand({ InferenceComponentName: 'llm', Specification: spec('tiny', 1, 2048), DeploymentConfig: deploymentConfig }),
    );
    expect((await sm.send(new DescribeInferenceComponentCommand({ InferenceComponentName: 'llm' }))).InferenceComponentStatus).toBe('Updating');
    await expect(
      sm.send(new UpdateInferenceComponentRuntimeConfigCommand({ InferenceComponentName: 'llm', DesiredRuntimeConfig: { CopyCount: 1 } })),
    ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('while it is Updating') });
    const updated = await settledComponent(sm, 'llm');
    expect(updated).toMatchObject({
      InferenceComponentStatus: 'InService',
      Specification: { ComputeResourceRequirements: { MinMemoryRequiredInMb: 2048 } },
      RuntimeConfig: { DesiredCopyCount: 2, CurrentCopyCount: 2 },
      LastDeploymentConfig: deploymentConfig,
    });
    const newCopies = new Set<string>();
    for (let i = 0; i < 2; i++) newCopies.add((await rawInvoke('ic-ep', 'llm')).headers.get('x-local-cloud-copy')!);
    expect(newCopies.size).toBe(2);
    for (const id of newCopies) expect(oldCopies.has(id)).toBe(false);

    await sm.send(
      new UpdateInferenceComponentCommand({ InferenceComponentName: 'llm', Specification: spec('missing-weights', 1), DeploymentConfig: deploymentConfig }),
    );
    const rolledBack = await settledComponent(sm, 'llm');
    expect(rolledBack).toMatchObject({
      InferenceComponentStatus: 'InService',
      Specification: { ModelName: 'tiny' },
      RuntimeConfig: { CurrentCopyCount: 2 },
      FailureReason: expect.stringContaining('rolled back'),
    });
    expect(rolledBack?.FailureReason).toMatch(/Inference component llm: Could not find model data/);
    expect((await rawInvoke('ic-ep', 'llm')).status).toBe(200);
  });

  it('scales copies: a new instance when one is full, a component that fits nowhere fails, scale to zero frees the instances', async () => {
    await sm.send(new UpdateInferenceComponentRuntimeConfigCommand({ InferenceComponentName: 'llm', DesiredRuntimeConfig: { CopyCount: 3 } }));
    expect(await settledComponent(sm, 'llm')).toMatchObject({
      InferenceComponentStatus: 'InService',
      RuntimeConfig: { DesiredCopyCount: 3, CurrentCopyCount: 3 },
    });
    const instances = async () => (await sm.send(new DescribeEndpointCommand({ EndpointName: 'ic-ep' }))).ProductionVariants![0].CurrentInstanceCount;
    expect(await instances()).toBe(2);

    // 1 CPU is left on the second instance, and MaxInstanceCount (2) is reached: a 2-CPU copy fits nowhere.
    await sm.send(
      new CreateInferenceComponentCommand({
        InferenceComponentName: 'big',
        EndpointName: 'ic-ep',
        Specification: spec('tiny', 2),
        RuntimeConfig: { CopyCount: 1 },
      }),
    );
    expect(await settledComponent(sm, 'big')).toMatchObject({
      InferenceComponentStatus: 'Failed',
      FailureReason: expect.stringContaining('Insufficient capacity'),
      RuntimeConfig: { DesiredCopyCount: 1, CurrentCopyCount: 0 },
    });
    await sm.send(new DeleteInferenceComponentCommand({ InferenceComponentName: 'big' }));
    expect(await settledComponent(sm, 'big')).toBeUndefined();

    const before = modelProcessPids().length;
    await sm.send(new UpdateInferenceComponentRuntimeConfigCommand({ InferenceComponentName: 'llm', DesiredRuntimeConfig: { CopyCount: 0 } }));
    expect(await settledComponent(sm, 'llm')).toMatchObject({ RuntimeConfig: { DesiredCopyCount: 0, CurrentCopyCount: 0 } });
    await waitUntil('copy processes to exit', async () => modelProcessPids().length === before - 3);
    expect(await instances()).toBe(0);
    await expect(
      runtime.send(new InvokeEndpointCommand({ EndpointName: 'ic-ep', InferenceComponentName: 'llm', ContentType: 'application/json', Body: PROMPT })),
    ).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('Inference Component has no capacity to process this request') });

    // Scale from zero: the instance comes back with the copy.
    await sm.send(new UpdateInferenceComponentRuntimeConfigCommand({ InferenceComponentName: 'llm', DesiredRuntimeConfig: { CopyCount: 1 } }));
    expect(await settledComponent(sm, 'llm')).toMatchObject({ RuntimeConfig: { CurrentCopyCount: 1 } });
    expect(await instances()).toBe(1);
  });

  it('deletes components (Deleting, then gone), and an endpoint takes its components with it', async () => {
    await sm.send(
      new CreateInferenceComponentCommand({
        InferenceComponentName: 'second',
        EndpointName: 'ic-ep',
        Specification: spec('tiny', 0.5),
        RuntimeConfig: { CopyCount: 1 },
      }),
    );
    expect((await settledComponent(sm, 'second'))?.InferenceComponentStatus).toBe('InService');
    await sm.send(new DeleteInferenceComponentCommand({ InferenceComponentName: 'second' }));
    expect(await settledComponent(sm, 'second')).toBeUndefined();
    const before = modelProcessPids().length;
    await sm.send(new DeleteEndpointCommand({ EndpointName: 'ic-ep' }));
    expect(await settledEndpoint(sm, 'ic-ep')).toBeUndefined();
    expect((await sm.send(new ListInferenceComponentsCommand({}))).InferenceComponents).toEqual([]);
    await waitUntil('copy processes to exit', async () => modelProcessPids().length === before - 1);
  });
});

describe('inference components across a restart of the local cloud', () => {
  let stateDir: string;
  let cloud: LocalCloud | undefined;

  afterAll(async () => {
    await cloud?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('keeps the component and starts its copies again', async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'inference-components-restart-'));
    cloud = await startLocalCloud({ port: 0, stateDir, pool: recordingPool(stateDir) });
    let sm = new SageMakerClient(clientConfig(cloud.url));
    const iam = new IAMClient(clientConfig(cloud.url));
    const roleArn = (await iam.send(new CreateRoleCommand({ RoleName: 'ic-restart', AssumeRolePolicyDocument: SAGEMAKER_TRUST_POLICY }))).Role!.Arn!;
    await sm.send(
      new CreateModelCommand({
        ModelName: 'tiny',
        ExecutionRoleArn: roleArn,
        PrimaryContainer: { Image: TGI_IMAGE, Environment: { HF_MODEL_ID: TINY_MODEL_ID } },
      }),
    );
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'restart-cfg',
        ExecutionRoleArn: roleArn,
        ProductionVariants: [{ VariantName: 'AllTraffic', InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 1 }],
      }),
    );
    await sm.send(new CreateEndpointCommand({ EndpointName: 'restart-ep', EndpointConfigName: 'restart-cfg' }));
    expect((await settledEndpoint(sm, 'restart-ep'))?.EndpointStatus).toBe('InService');
    await sm.send(
      new CreateInferenceComponentCommand({
        InferenceComponentName: 'kept',
        EndpointName: 'restart-ep',
        Specification: { ModelName: 'tiny', ComputeResourceRequirements: { NumberOfAcceleratorDevicesRequired: 1, MinMemoryRequiredInMb: 1024 } },
        RuntimeConfig: { CopyCount: 1 },
      }),
    );
    expect((await settledComponent(sm, 'kept'))?.InferenceComponentStatus).toBe('InService');
    const before = (await sm.send(new DescribeInferenceComponentCommand({ InferenceComponentName: 'kept' }))).CreationTime;
    await cloud.close();

    cloud = await startLocalCloud({ port: 0, stateDir, pool: recordingPool(stateDir) });
    sm = new SageMakerClient(clientConfig(cloud.url));
    expect((await settledEndpoint(sm, 'restart-ep'))?.EndpointStatus).toBe('InService');
    expect(await settledComponent(sm, 'kept')).toMatchObject({
      InferenceComponentStatus: 'InService',
      CreationTime: before,
      RuntimeConfig: { DesiredCopyCount: 1, CurrentCopyCount: 1 },
    });
    const out = await new SageMakerRuntimeClient(clientConfig(cloud.url)).send(
      new InvokeEndpointCommand({ EndpointName: 'restart-ep', InferenceComponentName: 'kept', ContentType: 'application/json', Body: PROMPT }),
    );
    expect(JSON.parse(new TextDecoder().decode(out.Body))[0].generated_text).toEqual(expect.any(String));
  }, 120_000);
});
