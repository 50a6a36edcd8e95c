// Asynchronous inference against the local cloud: an endpoint whose config has an
// AsyncInferenceConfig takes InvokeEndpointAsync (through @aws-sdk/client-sagemaker-runtime),
// answers 202 with where the result will be, and the tiny model's answer (or the container's
// error) then appears in S3 (moto).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointAsyncCommand, InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelsDirs } from '../../common/project-paths.js';
import { ContainerPool } from '../../local/instances/pool.js';
import { startLocalCloud, type LocalCloud } from '../../local/server.js';
import { RecordingPool, TGI_IMAGE, TINY_MODEL_ID, clientConfig, settledEndpoint } from './support.js';

const ACCOUNT = '123456789012';
const BUCKET = 'async';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ASYNC_CONFIG = {
  OutputConfig: {
    S3OutputPath: `s3://${BUCKET}/results`,
    S3FailurePath: `s3://${BUCKET}/failures/`,
    NotificationConfig: { IncludeInferenceResponseIn: ['SUCCESS_NOTIFICATION_TOPIC' as const] },
  },
  ClientConfig: { MaxConcurrentInvocationsPerInstance: 2 },
};

const variant = (count = 1) => ({ VariantName: 'AllTraffic', ModelName: 'tiny', InstanceType: 'ml.g5.xlarge' as const, InitialInstanceCount: count });
const request = (inputs: string, parameters: object = { max_new_tokens: 8 }) => JSON.stringify({ inputs, parameters });

describe('async inference', () => {
  let stateDir: string;
  let cloud: LocalCloud;
  let pool: RecordingPool;
  let sm: SageMakerClient;
  let runtime: SageMakerRuntimeClient;
  let s3: S3Client;

  async function read(uri: string): Promise<string | undefined> {
    const [, bucket, key] = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri)!;
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await out.Body!.transformToString('utf8');
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  /** Polls S3 until the object exists. */
  async function appears(uri: string): Promise<string> {
    let body: string | undefined;
    await expect.poll(async () => (body = await read(uri)), { timeout: 60_000, interval: 100 }).toBeDefined();
    return body!;
  }

  async function invokeSync(endpointName: string, body: string): Promise<string> {
    const out = await runtime.send(new InvokeEndpointCommand({ EndpointName: endpointName, ContentType: 'application/json', Body: Buffer.from(body) }));
    return Buffer.from(out.Body!).toString('utf8');
  }

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'async-inference-'));
    const logger = pino(pino.destination({ dest: join(stateDir, 'pool.log'), sync: true }));
    pool = new RecordingPool(new ContainerPool({ modelsDirs: modelsDirs(), logDir: join(stateDir, 'logs'), logger }));
    cloud = await startLocalCloud({ port: 0, stateDir, pool });
    sm = new SageMakerClient(clientConfig(cloud.url));
    runtime = new SageMakerRuntimeClient(clientConfig(cloud.url));
    s3 = new S3Client({ ...clientConfig(cloud.url), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await sm.send(new CreateModelCommand({ ModelName: 'tiny', PrimaryContainer: { Image: TGI_IMAGE, Environment: { HF_MODEL_ID: TINY_MODEL_ID } } }));
    await sm.send(new CreateEndpointConfigCommand({ EndpointConfigName: 'async-cfg', ProductionVariants: [variant()], AsyncInferenceConfig: ASYNC_CONFIG }));
    await sm.send(new CreateEndpointConfigCommand({ EndpointConfigName: 'sync-cfg', ProductionVariants: [variant()] }));
    await sm.send(new CreateEndpointCommand({ EndpointName: 'async-ep', EndpointConfigName: 'async-cfg' }));
    await sm.send(new CreateEndpointCommand({ EndpointName: 'sync-ep', EndpointConfigName: 'sync-cfg' }));
    expect((await settledEndpoint(sm, 'async-ep'))?.EndpointStatus).toBe('InService');
    expect((await settledEndpoint(sm, 'sync-ep'))?.EndpointStatus).toBe('InService');
  });

  afterAll(async () => {
    sm?.destroy();
    runtime?.destroy();
    s3?.destroy();
    await cloud?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('accepts AsyncInferenceConfig on endpoint configs and echoes it', async () => {
    const config = await sm.send(new DescribeEndpointConfigCommand({ EndpointConfigName: 'async-cfg' }));
    expect(config.AsyncInferenceConfig).toEqual(ASYNC_CONFIG);
    expect((await sm.send(new DescribeEndpointCommand({ EndpointName: 'async-ep' }))).AsyncInferenceConfig).toEqual(ASYNC_CONFIG);
  });

  it('validates AsyncInferenceConfig', async () => {
    await expect(
      sm.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: 'bad-async',
          ProductionVariants: [variant()],
          AsyncInferenceConfig: { OutputConfig: { S3OutputPath: `s3://${BUCKET}/x` }, ClientConfig: { MaxConcurrentInvocationsPerInstance: 0 } },
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message:
        "1 validation error detected: Value '0' at 'asyncInferenceConfig.clientConfig.maxConcurrentInvocationsPerInstance' failed to satisfy constraint: Member must have value greater than or equal to 1",
    });
    await expect(
      sm.send(
        new CreateEndpointConfigCommand({ EndpointConfigName: 'bad-async', ProductionVariants: [variant()], AsyncInferenceConfig: { OutputConfig: {} } }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('S3OutputPath is required by the local cloud') });
  });

  it('answers InvokeEndpointAsync with the InferenceId and locations, then writes the generated text to S3', async () => {
    const body = request('Once upon a time');
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'requests/one.json', Body: body }));
    const out = await runtime.send(
      new InvokeEndpointAsyncCommand({ EndpointName: 'async-ep', InputLocation: `s3://${BUCKET}/requests/one.json`, ContentType: 'application/json' }),
    );
    expect(out.$metadata.httpStatusCode).toBe(202);
    expect(out.InferenceId).toMatch(UUID);
    expect(out.OutputLocation).toBe(`s3://${BUCKET}/results/${out.InferenceId}.out`);
    expect(out.FailureLocation).toBe(`s3://${BUCKET}/failures/${out.InferenceId}-error.out`);

    const result = await appears(out.OutputLocation!);
    expect(JSON.parse(result)).toEqual([{ generated_text: expect.any(String) }]);
    // Greedy decoding: the same request to a real-time endpoint of the same model answers the same.
    expect(result).toBe(await invokeSync('sync-ep', body));
    expect(await read(out.FailureLocation!)).toBeUndefined();
  });

  it('takes an inline Body, a caller-chosen InferenceId, an output path extension and a file name', async () => {
    const out = await runtime.send(
      new InvokeEndpointAsyncCommand({
        EndpointName: 'async-ep',
        Body: Buffer.from(request('The little dog')),
        ContentType: 'application/json',
        InferenceId: 'my-request-1',
        S3OutputPathExtension: 'team-a/2024',
        Filename: 'answer.json',
      }),
    );
    expect(out.InferenceId).toBe('my-request-1');
    expect(out.OutputLocation).toBe(`s3://${BUCKET}/results/team-a/2024/answer.json`);
    expect(out.FailureLocation).toBe(`s3://${BUCKET}/failures/team-a/2024/my-request-1-error.out`);
    expect(JSON.parse(await appears(out.OutputLocation!))).toEqual([{ generated_text: expect.any(String) }]);
  });

  it('writes the container error to the failure path when the model rejects the request', async () => {
    // TGI refuses temperature 0 with a 422 and a JSON error body.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'requests/bad.json', Body: request('Once upon a time', { temperature: 0 }) }));
    const out = await runtime.send(new InvokeEndpointAsyncCommand({ EndpointName: 'async-ep', InputLocation: `s3://${BUCKET}/requests/bad.json` }));
    const failure = JSON.parse(await appears(out.FailureLocation!));
    expect(failure).toEqual({ error: expect.stringContaining('temperature'), error_type: 'validation' });
    expect(await read(out.OutputLocation!)).toBeUndefined();

    const missing = await runtime.send(new InvokeEndpointAsyncCommand({ EndpointName: 'async-ep', InputLocation: `s3://${BUCKET}/requests/none.json` }));
    expect(await appears(missing.FailureLocation!)).toContain(`Could not read the input s3://${BUCKET}/requests/none.json: NoSuchKey`);
  });

  it('queues more requests than the endpoint takes at once and answers them all', async () => {
    const prompts = ['A girl named Lily', 'One day, a bird', 'The sun was', 'Tom had a red', 'In the park there', 'The cat said', 'Ben wanted to'];
    const outs = await Promise.all(
      prompts.map((p) =>
        runtime.send(new InvokeEndpointAsyncCommand({ EndpointName: 'async-ep', Body: Buffer.from(request(p)), ContentType: 'application/json' })),
      ),
    );
    expect(new Set(outs.map((o) => o.InferenceId)).size).toBe(prompts.length);
    const results = await Promise.all(outs.map((o) => appears(o.OutputLocation!)));
    for (let i = 0; i < prompts.length; i++) expect(results[i], prompts[i]).toBe(await invokeSync('sync-ep', request(prompts[i])));
  });

  it('refuses what AWS refuses', async () => {
    const invoke = (input: Partial<ConstructorParameters<typeof InvokeEndpointAsyncCommand>[0]>) =>
      runtime.send(new InvokeEndpointAsyncCommand({ EndpointName: 'async-ep', InputLocation: `s3://${BUCKET}/requests/one.json`, ...input }));
    await expect(invoke({ EndpointName: 'no-such-ep' })).rejects.toMatchObject({
      name: 'ValidationError',
      message: `Endpoint no-such-ep of account ${ACCOUNT} not found.`,
    });
    await expect(invoke({ EndpointName: 'sync-ep' })).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('is not configured for asynchronous inference'),
    });
    await expect(invoke({ Body: Buffer.from('{}') })).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'Body and InputLocation are mutually exclusive. Provide exactly one of them.',
    });
    const longId = 'x'.repeat(65);
    await expect(invoke({ RequestTTLSeconds: 10, InferenceId: longId })).rejects.toMatchObject({
      name: 'ValidationError',
      message: `2 validation errors detected: Value '${longId}' at 'inferenceId' failed to satisfy constraint: Member must have length less than or equal to 64; Value '10' at 'requestTTLSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60`,
    });
    // An async endpoint takes asynchronous invocations only.
    await expect(invokeSync('async-ep', request('Once upon a time'))).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('is an asynchronous inference endpoint'),
    });
  });

  it('refuses an endpoint that is not in service yet', async () => {
    const release = pool.hold();
    await sm.send(new CreateEndpointCommand({ EndpointName: 'async-creating', EndpointConfigName: 'async-cfg' }));
    await expect(
      runtime.send(new InvokeEndpointAsyncCommand({ EndpointName: 'async-creating', InputLocation: `s3://${BUCKET}/requests/one.json` })),
    ).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('is not in service (status: Creating)') });
    release();
    expect((await settledEndpoint(sm, 'async-creating'))?.EndpointStatus).toBe('InService');
  });

  it('speaks the wire format: 202, JSON body with InferenceId, locations in headers', async () => {
    const res = await fetch(`${cloud.url}/endpoints/async-ep/async-invocations`, {
      method: 'POST',
      headers: {
        'X-Amzn-SageMaker-InputLocation': `s3://${BUCKET}/requests/one.json`,
        'X-Amzn-SageMaker-Content-Type': 'application/json',
        'X-Amzn-SageMaker-Inference-Id': 'raw-1',
      },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-amzn-sagemaker-outputlocation')).toBe(`s3://${BUCKET}/results/raw-1.out`);
    expect(res.headers.get('x-amzn-sagemaker-failurelocation')).toBe(`s3://${BUCKET}/failures/raw-1-error.out`);
    expect(await res.json()).toEqual({ InferenceId: 'raw-1' });
    await appears(`s3://${BUCKET}/results/raw-1.out`);
  });
});
