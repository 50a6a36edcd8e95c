// Transform-job, S3 and async-inference activities against the real local cloud (moto's S3,
// model processes running the tiny GGUF): idempotent creates, the poll contracts, stop, and
// record counting (S3 prefix semantics, only this job's outputs, resumable from a heartbeat).
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.js';
import type { CreateTransformJobInput } from '../../activities/transform.js';
import { failureOf, pollUntilDone, startActivityCloud, TEST_ROLE_NAME, TGI_IMAGE, TINY_MODEL_ENV, type ActivityCloud } from './support.js';

let env: ActivityCloud;
let a: Activities;
let modelName: string;

const lines = (n: number, tokens = 4) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ inputs: `Story ${i}`, parameters: { max_new_tokens: tokens } })).join('\n') + '\n';

beforeAll(async () => {
  env = await startActivityCloud();
  a = env.activities;
  const s3 = env.clients.s3;
  await s3.send(new CreateBucketCommand({ Bucket: 'acts' }));
  await s3.send(new PutObjectCommand({ Bucket: 'acts', Key: 'in/a.jsonl', Body: lines(12) }));
  await s3.send(new PutObjectCommand({ Bucket: 'acts', Key: 'in/b.jsonl', Body: `${lines(3)}\n\n` }));
  await s3.send(new PutObjectCommand({ Bucket: 'acts', Key: 'many/a.jsonl', Body: lines(400, 48) }));
  const { roleArn } = await a.ensureExecutionRole({ roleName: TEST_ROLE_NAME });
  modelName = 'transform-model';
  await a.createModel({ modelName, image: TGI_IMAGE, environment: TINY_MODEL_ENV, roleArn, tags: { endpointName: 'transform', runTag: 'setup' } });
});
afterAll(async () => {
  await a?.deleteModel({ modelName });
  await env?.close();
});

const job = (jobName: string, overrides: Partial<CreateTransformJobInput> = {}): CreateTransformJobInput => ({
  jobName,
  modelName,
  inputS3Uri: 's3://acts/in/',
  contentType: 'application/json',
  splitType: 'Line',
  outputS3Uri: `s3://acts/out-${jobName}/`,
  accept: 'application/json',
  batchStrategy: 'SingleRecord',
  maxPayloadMb: 6,
  maxConcurrentTransforms: 1,
  instanceType: 'ml.m5.large',
  instanceCount: 1,
  environment: {},
  runTag: 'batch-1/run-1',
  tags: {},
  ...overrides,
});

describe('countS3Records', () => {
  it('counts objects and non-blank lines under a prefix', async () => {
    expect(await a.countS3Records({ s3Uri: 's3://acts/in/' })).toMatchObject({ objects: 2, records: 15 });
    expect(await a.countS3Records({ s3Uri: 's3://acts/in/', splitType: 'None' })).toMatchObject({ objects: 2, records: 2 });
    expect(await a.countS3Records({ s3Uri: 's3://acts/nothing-here/' })).toEqual({ objects: 0, records: 0, bytes: 0 });
  });
});

describe('counting resumes where a lost attempt stopped', () => {
  it('heartbeats the last object counted, and a retry with those details counts only the rest', async () => {
    const beats: Array<{ after?: string; count: Record<string, number> }> = [];
    const first = new MockActivityEnvironment();
    first.on('heartbeat', (d) => beats.push(d));
    expect(await first.run(a.countS3Records, { s3Uri: 's3://acts/in/' })).toMatchObject({ objects: 2, records: 15 });
    const afterFirstObject = beats.find((b) => b.after === 'in/a.jsonl')!;
    expect(afterFirstObject.count).toMatchObject({ objects: 1, records: 12 });

    // Another worker picks the activity up with the last heartbeat's details.
    const retry = new MockActivityEnvironment({ heartbeatDetails: afterFirstObject });
    expect(await retry.run(a.countS3Records, { s3Uri: 's3://acts/in/' })).toMatchObject({ objects: 2, records: 15 });
    // Had it started over, the resumed counts would have been added to a full recount.
    const resumedAtEnd = new MockActivityEnvironment({ heartbeatDetails: beats.at(-1) });
    expect(await resumedAtEnd.run(a.countS3Records, { s3Uri: 's3://acts/in/' })).toMatchObject({ objects: 2, records: 15 });
  });

  it('a prefix is a key prefix, as S3 matches it: s3://acts/in takes in-extra/ too', async () => {
    await env.clients.s3.send(new PutObjectCommand({ Bucket: 'acts', Key: 'in-extra/c.jsonl', Body: lines(2) }));
    expect(await a.countS3Records({ s3Uri: 's3://acts/in' })).toMatchObject({ objects: 3, records: 17 });
    expect(await a.countS3Records({ s3Uri: 's3://acts/in/' })).toMatchObject({ objects: 2, records: 15 });
  });
});

describe('transform job activities', () => {
  it('create is idempotent for the same run, polls to Completed, and the output matches the input', async () => {
    const first = await a.createTransformJob(job('tj-ok'));
    const again = await a.createTransformJob(job('tj-ok'));
    expect(first.created).toBe(true);
    expect(again).toEqual({ jobArn: first.jobArn, created: false });

    const { result, notYet } = await pollUntilDone(() => a.awaitTransformJob({ jobName: 'tj-ok' }), 'TransformJobNotDone');
    expect(result.status).toBe('Completed');
    expect(Date.parse(result.endTime!)).toBeGreaterThanOrEqual(Date.parse(result.startTime!));
    expect(notYet.every((f) => f.message === 'Transform job tj-ok is InProgress')).toBe(true);
    const outputs = { inputS3Uri: 's3://acts/in/', outputS3Uri: 's3://acts/out-tj-ok/' };
    expect(await a.countTransformOutputs(outputs)).toMatchObject({ objects: 2, records: 15, missingObjects: 0 });

    // A .out an earlier run left (its input is gone) is not this job's output.
    await env.clients.s3.send(new PutObjectCommand({ Bucket: 'acts', Key: 'out-tj-ok/removed.jsonl.out', Body: lines(5) }));
    expect(await a.countTransformOutputs(outputs)).toMatchObject({ objects: 2, records: 15, missingObjects: 0 });
    expect(await a.countTransformOutputs({ ...outputs, splitType: 'None' })).toMatchObject({ objects: 2, records: 2 });
  });

  it("another run's job of the same name is a conflict, not ours to wait for", async () => {
    const failure = await failureOf(a.createTransformJob(job('tj-ok', { runTag: 'someone-else/run-9' })));
    expect(failure).toMatchObject({ type: 'ResourceConflict', nonRetryable: true });
  });

  it('a job whose records the container rejects fails with the FailureReason', async () => {
    await env.clients.s3.send(new PutObjectCommand({ Bucket: 'acts', Key: 'bad/x.jsonl', Body: `${lines(2)}not json\n` }));
    await a.createTransformJob(job('tj-bad', { inputS3Uri: 's3://acts/bad/' }));
    const failure = await failureOf(pollUntilDone(() => a.awaitTransformJob({ jobName: 'tj-bad' }), 'TransformJobNotDone'));
    expect(failure).toMatchObject({ type: 'TransformJobFailed', nonRetryable: true });
    expect(failure.message).toMatch(/^Transform job tj-bad failed: .*x\.jsonl/);
  });

  it('stop on a running job ends it Stopped; stopping again or an unknown job needs nothing', async () => {
    await a.createTransformJob(job('tj-stop', { inputS3Uri: 's3://acts/many/' }));
    expect(await a.stopTransformJob({ jobName: 'tj-stop' })).toEqual({ stopRequested: true });
    const { result } = await pollUntilDone(() => a.awaitTransformJobStopped({ jobName: 'tj-stop' }), 'TransformJobNotDone');
    expect(result?.status).toBe('Stopped');
    expect(await a.stopTransformJob({ jobName: 'tj-stop' })).toEqual({ stopRequested: false });
    expect(await a.stopTransformJob({ jobName: 'no-such-job' })).toEqual({ stopRequested: false });
    const stopped = await failureOf(a.awaitTransformJob({ jobName: 'tj-stop' }));
    expect(stopped).toMatchObject({ type: 'TransformJobStopped', nonRetryable: true });
  });
});

describe('async inference activities', () => {
  it('invokes an async endpoint and polls until the output object appears', async () => {
    const { roleArn } = await a.ensureExecutionRole({ roleName: TEST_ROLE_NAME });
    const tags = { endpointName: 'async-ep', runTag: 'deploy-async-ep/run-1' };
    await a.createModel({ modelName: 'async-ep-m', image: TGI_IMAGE, environment: TINY_MODEL_ENV, roleArn, tags });
    await a.createEndpointConfig({
      configName: 'async-ep-c',
      modelName: 'async-ep-m',
      variantName: 'AllTraffic',
      instanceType: 'ml.m5.large',
      initialInstanceCount: 1,
      containerStartupHealthCheckTimeoutSeconds: 600,
      asyncInference: { outputS3Uri: 's3://acts/async-out/', failureS3Uri: 's3://acts/async-failed/' },
      tags,
    });
    await a.createOrUpdateEndpoint({ endpointName: 'async-ep', configName: 'async-ep-c', tags });
    await pollUntilDone(() => a.awaitEndpointInService({ endpointName: 'async-ep' }), 'EndpointNotReady');

    await env.clients.s3.send(
      new PutObjectCommand({
        Bucket: 'acts',
        Key: 'async-in/ok.json',
        Body: JSON.stringify({ inputs: 'Once upon a time', parameters: { max_new_tokens: 8 } }),
      }),
    );
    const request = await a.invokeEndpointAsync({
      endpointName: 'async-ep',
      inputLocation: 's3://acts/async-in/ok.json',
      contentType: 'application/json',
      inferenceId: 'req-1',
    });
    expect(request.inferenceId).toBe('req-1');
    expect(request.outputLocation).toBe('s3://acts/async-out/req-1.out');
    const { result } = await pollUntilDone(() => a.awaitAsyncResult(request), 'AsyncResultNotReady');
    expect(JSON.parse(result.body)[0].generated_text).toEqual(expect.any(String));

    await env.clients.s3.send(new PutObjectCommand({ Bucket: 'acts', Key: 'async-in/bad.json', Body: '{"inputs": 42}' }));
    const bad = await a.invokeEndpointAsync({ endpointName: 'async-ep', inputLocation: 's3://acts/async-in/bad.json', contentType: 'application/json' });
    const failure = await failureOf(pollUntilDone(() => a.awaitAsyncResult(bad), 'AsyncResultNotReady'));
    expect(failure).toMatchObject({ type: 'AsyncInferenceFailed', nonRetryable: true });
  });
});
