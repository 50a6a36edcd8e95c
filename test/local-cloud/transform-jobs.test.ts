// Batch Transform against the local cloud, through @aws-sdk/client-sagemaker and client-s3 as
// the activities use them: jobs run the tiny model for real over objects in S3 (moto), write
// one output line per input line in input order, fail with AWS-like reasons, stop, list, and
// survive a restart of the local cloud.
import { isRunning } from '../../dev/processes.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateTransformJobCommand,
  DeleteModelCommand,
  DescribeTransformJobCommand,
  ListTagsCommand,
  ListTransformJobsCommand,
  SageMakerClient,
  StopTransformJobCommand,
  type CreateTransformJobCommandInput,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud } from '../../local/server.js';
import {
  NEVER_READY_ENV,
  recordingPool,
  type RecordingPool,
  TGI_IMAGE,
  TINY_MODEL_ID,
  clientConfig,
  modelProcessPids,
  pidsOf,
  settledEndpoint,
  settledTransformJob,
} from './support.js';

const ACCOUNT = '123456789012';
const BUCKET = 'batch';
const jobArn = (name: string) => `arn:aws:sagemaker:us-east-1:${ACCOUNT}:transform-job/${name.toLowerCase()}`;

interface Cloud {
  cloud: LocalCloud;
  pool: RecordingPool;
  sm: SageMakerClient;
  s3: S3Client;
  runtime: SageMakerRuntimeClient;
}

async function start(stateDir: string): Promise<Cloud> {
  const pool = recordingPool(stateDir);
  const cloud = await startLocalCloud({ port: 0, stateDir, pool });
  return {
    cloud,
    pool,
    sm: new SageMakerClient(clientConfig(cloud.url)),
    s3: new S3Client({ ...clientConfig(cloud.url), forcePathStyle: true }),
    runtime: new SageMakerRuntimeClient(clientConfig(cloud.url)),
  };
}

async function stop(c: Cloud | undefined): Promise<void> {
  if (!c) return;
  c.sm.destroy();
  c.s3.destroy();
  c.runtime.destroy();
  await c.cloud.close();
}

/** A TGI request per line; greedy decoding (no temperature), so answers are reproducible. */
function tgiLines(prompts: string[], maxNewTokens = 6): string {
  return prompts.map((inputs) => JSON.stringify({ inputs, parameters: { max_new_tokens: maxNewTokens } })).join('\n') + '\n';
}

const PROMPTS = [
  'Once upon a time',
  'The little dog',
  'A girl named Lily',
  'One day, a bird',
  'The sun was',
  'Tom had a red',
  'In the park there',
  'The cat said',
  'Mom gave Sue',
  'Ben wanted to',
];
const prompts = (n: number, offset = 0) => Array.from({ length: n }, (_, i) => `${PROMPTS[(i + offset) % PROMPTS.length]} ${i}`);

async function put(s3: S3Client, key: string, body: string | Buffer): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

async function read(s3: S3Client, key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return await out.Body!.transformToString('utf8');
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey') return undefined;
    throw err;
  }
}

async function keysUnder(s3: S3Client, prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

function job(name: string, input: string, output: string, extra: Partial<CreateTransformJobCommandInput> = {}): CreateTransformJobCommandInput {
  return {
    TransformJobName: name,
    ModelName: 'tiny',
    BatchStrategy: 'SingleRecord',
    TransformInput: {
      DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/${input}` } },
      ContentType: 'application/json',
      SplitType: 'Line',
    },
    TransformOutput: { S3OutputPath: `s3://${BUCKET}/${output}`, Accept: 'application/json', AssembleWith: 'Line' },
    TransformResources: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1 },
    ...extra,
  };
}

const lines = (text: string | undefined) => (text ?? '').split('\n').filter((l) => l.trim());

describe('transform jobs', () => {
  let stateDir: string;
  let c: Cloud;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'transform-jobs-'));
    c = await start(stateDir);
    await c.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const tgi = { Image: TGI_IMAGE, Environment: { HF_MODEL_ID: TINY_MODEL_ID, MAX_INPUT_LENGTH: '64' } };
    await c.sm.send(new CreateModelCommand({ ModelName: 'tiny', PrimaryContainer: tgi }));
    await c.sm.send(
      new CreateModelCommand({ ModelName: 'own-image', PrimaryContainer: { ...tgi, Image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/my-own-server:1' } }),
    );
    await c.sm.send(
      new CreateModelCommand({ ModelName: 'never-ready', PrimaryContainer: { ...tgi, Environment: { ...tgi.Environment, ...NEVER_READY_ENV } } }),
    );
    // Input: 20 + 5 requests under in/, the second one in a "subdirectory", and a blank line that is no record.
    await put(c.s3, 'in/a.jsonl', tgiLines(prompts(20)));
    await put(c.s3, 'in/sub/b.jsonl', tgiLines(prompts(2, 3)) + '\n  \n' + tgiLines(prompts(3, 6)));
  });

  afterAll(async () => {
    await stop(c);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('runs a job for real: one output line per input line, in order, equal to what InvokeEndpoint answers', async () => {
    const release = c.pool.hold();
    const { TransformJobArn } = await c.sm.send(
      new CreateTransformJobCommand(
        job('two-objects', 'in/', 'out/two-objects', {
          MaxConcurrentTransforms: 2,
          TransformResources: { InstanceType: 'ml.m5.xlarge', InstanceCount: 2 },
          ModelClientConfig: { InvocationsTimeoutInSeconds: 60, InvocationsMaxRetries: 0 },
          Environment: { MAX_TOTAL_TOKENS: '128' },
          DataProcessing: { JoinSource: 'None' },
          Tags: [{ Key: 'team', Value: 'batch' }],
        }),
      ),
    );
    expect(TransformJobArn).toBe(jobArn('two-objects'));
    // Held before its processes start: InProgress, not started yet.
    const pending = await c.sm.send(new DescribeTransformJobCommand({ TransformJobName: 'two-objects' }));
    expect(pending).toMatchObject({
      TransformJobName: 'two-objects',
      TransformJobStatus: 'InProgress',
      ModelName: 'tiny',
      MaxConcurrentTransforms: 2,
      MaxPayloadInMB: 6,
      BatchStrategy: 'SingleRecord',
      Environment: { MAX_TOTAL_TOKENS: '128' },
      ModelClientConfig: { InvocationsTimeoutInSeconds: 60, InvocationsMaxRetries: 0 },
      TransformInput: { SplitType: 'Line', ContentType: 'application/json' },
      TransformOutput: { S3OutputPath: `s3://${BUCKET}/out/two-objects`, AssembleWith: 'Line' },
      TransformResources: { InstanceType: 'ml.m5.xlarge', InstanceCount: 2 },
      DataProcessing: { JoinSource: 'None' },
    });
    expect(pending.TransformStartTime).toBeUndefined();
    expect(pending.TransformEndTime).toBeUndefined();
    expect((await c.sm.send(new ListTagsCommand({ ResourceArn: TransformJobArn }))).Tags).toEqual([{ Key: 'team', Value: 'batch' }]);
    release();

    const seen: string[] = [];
    const done = await settledTransformJob(c.sm, 'two-objects', seen);
    expect(done.FailureReason).toBeUndefined();
    expect(done.TransformJobStatus).toBe('Completed');
    expect(seen).toEqual(['InProgress', 'Completed']);
    expect(done.CreationTime!.getTime()).toBeLessThanOrEqual(done.TransformStartTime!.getTime());
    expect(done.TransformStartTime!.getTime()).toBeLessThanOrEqual(done.TransformEndTime!.getTime());

    // Two processes ran the job, and none is left.
    const fleet = c.pool.fleets.find((f) => f.endpointName === 'transform-job/two-objects')!.fleet;
    expect(pidsOf(fleet)).toHaveLength(2);
    expect(pidsOf(fleet).some(isRunning)).toBe(false);

    expect((await keysUnder(c.s3, 'out/two-objects/')).sort()).toEqual(['out/two-objects/a.jsonl.out', 'out/two-objects/sub/b.jsonl.out']);
    const a = lines(await read(c.s3, 'out/two-objects/a.jsonl.out'));
    const b = lines(await read(c.s3, 'out/two-objects/sub/b.jsonl.out'));
    expect(a).toHaveLength(20);
    expect(b).toHaveLength(5);

    // The same requests through an endpoint of the same model give the same answers, line for line.
    await c.sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'tiny-cfg',
        ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'tiny', InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 1 }],
      }),
    );
    await c.sm.send(new CreateEndpointCommand({ EndpointName: 'tiny-ep', EndpointConfigName: 'tiny-cfg' }));
    expect((await settledEndpoint(c.sm, 'tiny-ep'))?.EndpointStatus).toBe('InService');
    const direct = async (line: string) => {
      const out = await c.runtime.send(new InvokeEndpointCommand({ EndpointName: 'tiny-ep', ContentType: 'application/json', Body: Buffer.from(line) }));
      return Buffer.from(out.Body!).toString('utf8');
    };
    const inputA = lines(tgiLines(prompts(20)));
    const inputB = lines(await read(c.s3, 'in/sub/b.jsonl'));
    for (let i = 0; i < inputA.length; i++) expect(a[i], `line ${i + 1} of a.jsonl`).toBe(await direct(inputA[i]));
    for (let i = 0; i < inputB.length; i++) expect(b[i], `record ${i + 1} of sub/b.jsonl`).toBe(await direct(inputB[i]));
    expect(JSON.parse(a[0])).toEqual([{ generated_text: expect.any(String) }]);
    // Different prompts, different answers: the order check above means something.
    expect(new Set(a).size).toBeGreaterThan(1);
  });

  it('refuses what AWS refuses: unknown model, empty input, duplicate name, bad parameters', async () => {
    await expect(c.sm.send(new CreateTransformJobCommand({ ...job('no-model', 'in/', 'out/x'), ModelName: 'nope' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: `Could not find model "arn:aws:sagemaker:us-east-1:${ACCOUNT}:model/nope".`,
    });
    await expect(c.sm.send(new CreateTransformJobCommand(job('empty-input', 'nothing-here/', 'out/x')))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining(`No S3 objects found under S3 URL "s3://${BUCKET}/nothing-here/" given in input data source.`),
    });
    await expect(
      c.sm.send(
        new CreateTransformJobCommand({ ...job('bad-params', 'in/', 'out/x'), TransformResources: { InstanceType: 'ml.t2.nano' as never, InstanceCount: 0 } }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(
        /^2 validation errors detected: Value 'ml.t2.nano' at 'transformResources.instanceType' failed to satisfy constraint: Member must satisfy enum value set: \[.*\]; Value '0' at 'transformResources.instanceCount' failed to satisfy constraint: Member must have value greater than or equal to 1$/,
      ),
    });
    await expect(
      c.sm.send(new CreateTransformJobCommand({ ...job('too-much', 'in/', 'out/x'), MaxConcurrentTransforms: 20, MaxPayloadInMB: 6 })),
    ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('must not exceed 100 MB') });

    // A job that fails fast (its image cannot run) is enough to test the name's uniqueness.
    await c.sm.send(new CreateTransformJobCommand({ ...job('Dup-Name', 'in/', 'out/dup'), ModelName: 'own-image' }));
    await expect(c.sm.send(new CreateTransformJobCommand({ ...job('dup-name', 'in/', 'out/dup'), ModelName: 'own-image' }))).rejects.toMatchObject({
      name: 'ResourceInUse',
      message: `Job name must be unique within an AWS account and region, and a job with this name already exists (${jobArn('Dup-Name')})`,
    });
    await settledTransformJob(c.sm, 'Dup-Name');
  });

  it('answers for unknown jobs like AWS', async () => {
    await expect(c.sm.send(new DescribeTransformJobCommand({ TransformJobName: 'never-created' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Could not find requested job with name never-created',
    });
    await expect(c.sm.send(new StopTransformJobCommand({ TransformJobName: 'never-created' }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('fails a job whose model cannot run, with the reason and no process left', async () => {
    const before = new Set(modelProcessPids());
    await c.sm.send(new CreateTransformJobCommand({ ...job('bad-image', 'in/', 'out/bad-image'), ModelName: 'own-image' }));
    const failed = await settledTransformJob(c.sm, 'bad-image');
    expect(failed.TransformJobStatus).toBe('Failed');
    expect(failed.FailureReason).toMatch(/^ClientError: the image '.*my-own-server:1' is not one the local cloud can run/);
    expect(failed.TransformEndTime).toBeInstanceOf(Date);
    expect(modelProcessPids().filter((pid) => !before.has(pid))).toEqual([]);
    expect(await keysUnder(c.s3, 'out/bad-image/')).toEqual([]);
    // The job keeps the container it was created with: deleting the model changes nothing.
    await c.sm.send(new DeleteModelCommand({ ModelName: 'own-image' }));
    expect((await c.sm.send(new DescribeTransformJobCommand({ TransformJobName: 'bad-image' }))).ModelName).toBe('own-image');
  });

  it('fails on a record the container rejects, naming the object and line; complete objects keep their output', async () => {
    await put(c.s3, 'mixed/a-good.jsonl', tgiLines(prompts(3)));
    // TGI answers 422 for temperature 0 (greedy is do_sample: false).
    await put(
      c.s3,
      'mixed/b-bad.jsonl',
      tgiLines(prompts(1)) + JSON.stringify({ inputs: 'Once upon a time', parameters: { temperature: 0 } }) + '\n' + tgiLines(prompts(2)),
    );
    await c.sm.send(new CreateTransformJobCommand(job('bad-record', 'mixed/', 'out/bad-record')));
    const failed = await settledTransformJob(c.sm, 'bad-record');
    expect(failed.TransformJobStatus).toBe('Failed');
    expect(failed.FailureReason).toMatch(
      new RegExp(`^ClientError: Bad HTTP status received from algorithm: 422 for line 2 of s3://${BUCKET}/mixed/b-bad\\.jsonl: .*temperature`),
    );
    expect(failed.FailureReason!.length).toBeLessThanOrEqual(1024);
    // The object that failed has no output at all; the one completed before it has all of its lines.
    expect(await keysUnder(c.s3, 'out/bad-record/')).toEqual(['out/bad-record/a-good.jsonl.out']);
    expect(lines(await read(c.s3, 'out/bad-record/a-good.jsonl.out'))).toHaveLength(3);
  });

  it('sends MultiRecord batches as newline-joined payloads, which a TGI container rejects (as on AWS)', async () => {
    await put(c.s3, 'multi/one.jsonl', tgiLines(prompts(4)));
    await c.sm.send(new CreateTransformJobCommand({ ...job('multi-tgi', 'multi/', 'out/multi'), BatchStrategy: 'MultiRecord', MaxPayloadInMB: 1 }));
    const failed = await settledTransformJob(c.sm, 'multi-tgi');
    expect(failed.TransformJobStatus).toBe('Failed');
    expect(failed.FailureReason).toContain(`for lines 1-4 of s3://${BUCKET}/multi/one.jsonl`);
    expect(failed.FailureReason).toContain('needs BatchStrategy SingleRecord');
  });

  it('fails on a record larger than MaxPayloadInMB', async () => {
    const huge = JSON.stringify({ inputs: 'x'.repeat(1024 * 1024 + 10) });
    await put(c.s3, 'huge/big.jsonl', tgiLines(prompts(1)) + huge + '\n');
    await c.sm.send(new CreateTransformJobCommand({ ...job('too-big', 'huge/', 'out/too-big'), MaxPayloadInMB: 1 }));
    const failed = await settledTransformJob(c.sm, 'too-big');
    expect(failed).toMatchObject({
      TransformJobStatus: 'Failed',
      FailureReason: expect.stringMatching(
        new RegExp(
          `^ClientError: Too much data for max payload size: line 2 of s3://${BUCKET}/huge/big\\.jsonl is ${huge.length} bytes and MaxPayloadInMB is 1\\.`,
        ),
      ),
    });
  });

  it('stops a job whose processes are still starting: Stopping → Stopped, no process left', async () => {
    const before = new Set(modelProcessPids());
    await c.sm.send(new CreateTransformJobCommand({ ...job('stop-starting', 'in/', 'out/stop-starting'), ModelName: 'never-ready' }));
    let started: number[] = [];
    await expect.poll(() => (started = modelProcessPids().filter((pid) => !before.has(pid))), { timeout: 30_000 }).toHaveLength(1);
    await c.sm.send(new StopTransformJobCommand({ TransformJobName: 'stop-starting' }));
    const seen: string[] = [];
    const stopped = await settledTransformJob(c.sm, 'stop-starting', seen);
    // Stopping may be too brief to observe (aborting a launch takes milliseconds); what matters
    // is that after StopTransformJob the job is only ever Stopping and ends Stopped.
    expect(seen.every((status) => status === 'Stopping' || status === 'Stopped')).toBe(true);
    expect(seen.at(-1)).toBe('Stopped');
    expect(stopped.TransformEndTime).toBeInstanceOf(Date);
    expect(started.filter(isRunning)).toEqual([]);
    expect(c.pool.cancelled).toContain('transform-job/stop-starting');
    await expect(c.sm.send(new StopTransformJobCommand({ TransformJobName: 'stop-starting' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'The request was rejected because the transform job is in status Stopped.',
    });
  });

  it('stops a job mid-way: requests aborted, processes stopped, outputs already written removed', async () => {
    await put(c.s3, 'long/a-first.jsonl', tgiLines(prompts(1)));
    await put(c.s3, 'long/b-long.jsonl', tgiLines(prompts(300), 24));
    await c.sm.send(new CreateTransformJobCommand(job('stop-midway', 'long/', 'out/stop-midway')));
    await expect.poll(() => keysUnder(c.s3, 'out/stop-midway/'), { timeout: 30_000, interval: 50 }).toEqual(['out/stop-midway/a-first.jsonl.out']);
    await c.sm.send(new StopTransformJobCommand({ TransformJobName: 'stop-midway' }));
    expect(['Stopping', 'Stopped']).toContain((await c.sm.send(new DescribeTransformJobCommand({ TransformJobName: 'stop-midway' }))).TransformJobStatus);
    const stopped = await settledTransformJob(c.sm, 'stop-midway');
    expect(stopped.TransformJobStatus).toBe('Stopped');
    const fleet = c.pool.fleets.find((f) => f.endpointName === 'transform-job/stop-midway')!.fleet;
    expect(pidsOf(fleet).some(isRunning)).toBe(false);
    expect(await keysUnder(c.s3, 'out/stop-midway/')).toEqual([]);
  });

  it('lists jobs with filters, sorting and pagination', async () => {
    const { TransformJobSummaries: all } = await c.sm.send(new ListTransformJobsCommand({ MaxResults: 100 }));
    const names = all!.map((j) => j.TransformJobName);
    // Newest first by default.
    expect(names.indexOf('stop-midway')).toBeLessThan(names.indexOf('two-objects'));
    expect(all!.find((j) => j.TransformJobName === 'two-objects')).toMatchObject({
      TransformJobArn: jobArn('two-objects'),
      TransformJobStatus: 'Completed',
      CreationTime: expect.any(Date),
      LastModifiedTime: expect.any(Date),
      TransformEndTime: expect.any(Date),
    });

    const failed = await c.sm.send(new ListTransformJobsCommand({ StatusEquals: 'Failed', SortBy: 'Name', SortOrder: 'Ascending' }));
    expect(failed.TransformJobSummaries!.map((j) => j.TransformJobName)).toEqual(['bad-image', 'bad-record', 'Dup-Name', 'multi-tgi', 'too-big'].sort());
    expect(failed.TransformJobSummaries![0].FailureReason).toMatch(/^ClientError: /);

    const stopped = await c.sm.send(new ListTransformJobsCommand({ NameContains: 'STOP', StatusEquals: 'Stopped' }));
    expect(stopped.TransformJobSummaries!.map((j) => j.TransformJobName)).toEqual(['stop-midway', 'stop-starting']);

    const first = await c.sm.send(new ListTransformJobsCommand({ MaxResults: 2, SortBy: 'CreationTime', SortOrder: 'Ascending' }));
    expect(first.TransformJobSummaries!.map((j) => j.TransformJobName)).toEqual(names.slice(-2).reverse());
    const second = await c.sm.send(new ListTransformJobsCommand({ MaxResults: 2, SortBy: 'CreationTime', SortOrder: 'Ascending', NextToken: first.NextToken }));
    expect(second.TransformJobSummaries!.map((j) => j.TransformJobName)).toEqual(names.slice(-4, -2).reverse());

    const later = await c.sm.send(new ListTransformJobsCommand({ CreationTimeAfter: all![0].CreationTime, MaxResults: 100 }));
    expect(later.TransformJobSummaries!.map((j) => j.TransformJobName)).toContain(all![0].TransformJobName);
    await expect(c.sm.send(new ListTransformJobsCommand({ StatusEquals: 'Done' as never }))).rejects.toMatchObject({ name: 'ValidationException' });
  });
});

describe('transform jobs across a restart', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'transform-restart-'));
  let c: Cloud | undefined;

  afterAll(async () => {
    await stop(c);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('runs a job that was in progress again after a restart, to completion', async () => {
    c = await start(stateDir);
    await c.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await put(c.s3, 'in/a.jsonl', tgiLines(prompts(4)));
    await c.sm.send(new CreateModelCommand({ ModelName: 'tiny', PrimaryContainer: { Image: TGI_IMAGE, Environment: { HF_MODEL_ID: TINY_MODEL_ID } } }));
    const release = c.pool.hold();
    await c.sm.send(new CreateTransformJobCommand(job('interrupted', 'in/', 'out')));
    const before = await c.sm.send(new DescribeTransformJobCommand({ TransformJobName: 'interrupted' }));
    expect(before.TransformJobStatus).toBe('InProgress');
    const closing = c.cloud.close();
    release(); // the held launch now sees the shutdown and starts nothing
    await closing;
    await stop(c);

    c = await start(stateDir);
    const done = await settledTransformJob(c.sm, 'interrupted');
    expect(done.TransformJobStatus).toBe('Completed');
    expect(done.CreationTime).toEqual(before.CreationTime);
    expect(lines(await read(c.s3, 'out/a.jsonl.out'))).toHaveLength(4);
  });
});
