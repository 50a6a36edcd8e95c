// Fault injection and rate limiting (local/faults.ts) through the real local cloud and the SDKs
// the activities use: each injected error arrives with the code the service's SDK classifies
// (and retries) as AWS's, dropped connections are retried by the SDK, the rate limit throttles
// per operation, and endpoint faults set at run time fail a health check or crash a container.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRoleCommand, IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  ListEndpointsCommand,
  ListModelsCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultConfigError, parseEndpointFaults, parseRequestFaults } from '../../local/faults.js';
import { startLocalCloud, type LocalCloud } from '../../local/server.js';
import { recordingPool, type RecordingPool, SAGEMAKER_TRUST_POLICY, TGI_IMAGE, TINY_MODEL_ID, clientConfig, settledEndpoint } from './support.js';

describe('fault settings', () => {
  it('reads the string form and the JSON form alike', () => {
    const spec = 'throttle=0.2,5xx=0.05,latencyMs=50,drop=0.01,seed=7;services=sagemaker,s3;operations=CreateEndpoint';
    const expected = { throttle: 0.2, '5xx': 0.05, latencyMs: 50, drop: 0.01, seed: 7, services: ['sagemaker', 's3'], operations: ['CreateEndpoint'] };
    expect(parseRequestFaults(spec)).toEqual(expected);
    expect(parseRequestFaults(JSON.stringify(expected))).toEqual(expected);
    expect(parseRequestFaults('throttle=0.5')).toEqual({ throttle: 0.5, '5xx': 0, drop: 0, latencyMs: 0, seed: 1 });
    expect(parseEndpointFaults('a=fail-health-check,b=crash-after-start')).toEqual({ a: 'fail-health-check', b: 'crash-after-start' });
  });

  it('refuses bad settings naming the field and the rule', () => {
    expect(() => parseRequestFaults('throttle=1.5')).toThrow(/LOCAL_CLOUD_FAULTS is not valid: throttle: .*<=1/);
    expect(() => parseRequestFaults('thrtole=0.1')).toThrow(/Unrecognized key.*thrtole/);
    expect(() => parseRequestFaults('services=sagemaker,ec2')).toThrow(/services\.1: /);
    expect(() => parseRequestFaults('throttle')).toThrow('LOCAL_CLOUD_FAULTS: "throttle" is not key=value');
    expect(() => parseEndpointFaults('a=explode')).toThrow(FaultConfigError);
  });
});

describe('fault injection in the local cloud', () => {
  let stateDir: string;
  let cloud: LocalCloud;
  let pool: RecordingPool;
  const sm = (maxAttempts = 1) => new SageMakerClient({ ...clientConfig(cloud.url), maxAttempts });
  const admin = async (body: object) => {
    const res = await fetch(`${cloud.url}/_localcloud/faults`, { method: 'POST', body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'faults-'));
    pool = recordingPool(stateDir);
    cloud = await startLocalCloud({ port: 0, stateDir, pool, faults: {} });
  });

  afterAll(async () => {
    await cloud?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('throttles in each protocol with the code its SDK retries as throttling', async () => {
    await admin({ requests: { throttle: 1 } });
    // Three attempts each: the SDK classed the error as retryable, as it does AWS's.
    await expect(sm(3).send(new ListModelsCommand({}))).rejects.toMatchObject({
      name: 'ThrottlingException',
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 400, attempts: 3 },
    });
    await expect(new S3Client({ ...clientConfig(cloud.url), maxAttempts: 3, forcePathStyle: true }).send(new ListBucketsCommand({}))).rejects.toMatchObject({
      name: 'SlowDown',
      $metadata: { httpStatusCode: 503, attempts: 3 },
    });
    await expect(new IAMClient({ ...clientConfig(cloud.url), maxAttempts: 3 }).send(new ListRolesCommand({}))).rejects.toMatchObject({
      name: 'Throttling',
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 400, attempts: 3 },
    });
    await admin({ requests: null });
    await expect(sm().send(new ListModelsCommand({}))).resolves.toBeDefined();
  });

  it('answers 5xx as InternalFailure or ServiceUnavailable, limited to the services and operations named', async () => {
    await admin({ requests: { '5xx': 1, services: ['sagemaker'], operations: ['ListModels'] } });
    const codes = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const err = (await sm()
        .send(new ListModelsCommand({}))
        .catch((e: unknown) => e)) as { name: string; $metadata: { httpStatusCode: number } };
      codes.add(`${err.name} ${err.$metadata.httpStatusCode}`);
    }
    expect(codes).toEqual(new Set(['InternalFailure 500', 'ServiceUnavailable 503']));
    // Another operation, another service: untouched.
    await expect(sm().send(new ListEndpointsCommand({}))).resolves.toBeDefined();
    await expect(new IAMClient({ ...clientConfig(cloud.url), maxAttempts: 1 }).send(new ListRolesCommand({}))).resolves.toBeDefined();
    await admin({ requests: null });
  });

  it('drops connections, which the SDK retries; with retries every call gets through some faults', async () => {
    await admin({ requests: { drop: 1, services: ['sagemaker'] } });
    await expect(sm().send(new ListModelsCommand({}))).rejects.toMatchObject({ code: 'ECONNRESET' });
    // A mix at the rates of the e2e fault test, seeded: the SDK's standard retries absorb it.
    await admin({ requests: { throttle: 0.2, '5xx': 0.05, drop: 0.02, seed: 3, services: ['sagemaker'] } });
    for (let i = 0; i < 20; i++) await sm(10).send(new ListModelsCommand({}));
    await admin({ requests: null });
  });

  it('rate-limits each account and operation when enabled', async () => {
    const limited = await startLocalCloud({ port: 0, stateDir: mkdtempSync(join(tmpdir(), 'rate-')), pool, faults: { rateLimit: 0.01 } });
    try {
      const client = new SageMakerClient({ ...clientConfig(limited.url), maxAttempts: 1 });
      await client.send(new ListModelsCommand({}));
      // At 0.01 per second the next token is 100 s away.
      await expect(client.send(new ListModelsCommand({}))).rejects.toMatchObject({ name: 'ThrottlingException', message: 'Rate exceeded' });
      await expect(client.send(new ListEndpointsCommand({}))).resolves.toBeDefined();
      const otherAccount = new SageMakerClient({ ...clientConfig(limited.url), credentials: { accessKeyId: 'other', secretAccessKey: 'x' }, maxAttempts: 1 });
      await expect(otherAccount.send(new ListModelsCommand({}))).resolves.toBeDefined();
    } finally {
      await limited.close();
      rmSync(limited.stateDir, { recursive: true, force: true });
    }
  });

  it('fails the health check of, or crashes the container of, an endpoint named at run time', async () => {
    const iam = new IAMClient(clientConfig(cloud.url));
    const { Role } = await iam.send(new CreateRoleCommand({ RoleName: 'faults-exec', AssumeRolePolicyDocument: SAGEMAKER_TRUST_POLICY }));
    const client = sm(3);
    await client.send(
      new CreateModelCommand({
        ModelName: 'faults-model',
        PrimaryContainer: { Image: TGI_IMAGE, Environment: { HF_MODEL_ID: TINY_MODEL_ID, MAX_INPUT_LENGTH: '64' } },
        ExecutionRoleArn: Role!.Arn,
      }),
    );
    await client.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'faults-cfg',
        ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'faults-model', InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 1 }],
      }),
    );
    expect(await admin({ endpoints: { 'ep-unhealthy': 'fail-health-check', 'ep-crashing': 'crash-after-start' } })).toMatchObject({
      endpoints: { 'ep-unhealthy': 'fail-health-check', 'ep-crashing': 'crash-after-start' },
    });

    await client.send(new CreateEndpointCommand({ EndpointName: 'ep-unhealthy', EndpointConfigName: 'faults-cfg' }));
    expect(await settledEndpoint(client, 'ep-unhealthy')).toMatchObject({
      EndpointStatus: 'Failed',
      FailureReason:
        'The primary container for production variant AllTraffic did not pass the ping health check. Please check CloudWatch logs for this endpoint.',
    });
    expect(pool.fleets.filter((f) => f.endpointName === 'ep-unhealthy')).toHaveLength(0);

    await client.send(new CreateEndpointCommand({ EndpointName: 'ep-crashing', EndpointConfigName: 'faults-cfg' }));
    expect(await settledEndpoint(client, 'ep-crashing')).toMatchObject({ EndpointStatus: 'InService' });
    const runtime = new SageMakerRuntimeClient({ ...clientConfig(cloud.url), maxAttempts: 1 });
    const invoke = runtime.send(
      new InvokeEndpointCommand({ EndpointName: 'ep-crashing', ContentType: 'application/json', Body: Buffer.from(JSON.stringify({ inputs: 'hi' })) }),
    );
    // The endpoint still says InService, as on AWS after a crash, and calls fail: with the
    // connection error if they reach the dead process, or no instance once the pool has seen it die.
    const crashed = (await invoke.catch((e: unknown) => e)) as { name: string; $metadata?: { httpStatusCode?: number } };
    expect(['ModelError 424', 'ServiceUnavailable 503']).toContain(`${crashed.name} ${crashed.$metadata?.httpStatusCode}`);
  });
});
