// How the worker resolves hfTokenSecret, against the real local cloud (Secrets Manager served by
// moto behind it): a secret by name or ARN, a key of a JSON secret, an allowlisted worker
// variable; refusals before any AWS call; and no failure or log line that carries the value.
import { DescribeModelCommand } from '@aws-sdk/client-sagemaker';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { ApplicationFailure } from '@temporalio/common';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type Activities } from '../../activities/index.js';
import { createAwsClients } from '../../activities/aws-clients.js';
import type { CreateModelInput } from '../../activities/sagemaker.js';
import { registerSecret, scrubActivityFailures, scrubError, scrubSecrets } from '../../activities/secret-registry.js';
import {
  failureOf,
  startActivityCloud,
  tagsFor,
  TEST_CREDENTIALS,
  TEST_ROLE_NAME,
  TGI_IMAGE,
  TINY_MODEL_ENV,
  type ActivityCloud,
} from '../activities/support.js';

let cloud: ActivityCloud;
let a: Activities;
let roleArn: string;

beforeAll(async () => {
  cloud = await startActivityCloud();
  a = cloud.activities;
  ({ roleArn } = await a.ensureExecutionRole({ roleName: TEST_ROLE_NAME }));
});
afterAll(() => cloud?.close());

/** A value no code path would produce by accident, so finding it anywhere means it leaked. */
const sentinel = (label: string) => `sentinel-${label}-${randomBytes(12).toString('hex')}`;

async function createSecret(name: string, value: string): Promise<string> {
  const out = await cloud.clients.secretsManager.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  return out.ARN!;
}

const modelInput = (modelName: string, hfTokenSecret: CreateModelInput['hfTokenSecret']): CreateModelInput => ({
  modelName,
  image: TGI_IMAGE,
  environment: TINY_MODEL_ENV,
  roleArn,
  hfTokenSecret,
  tags: tagsFor('secrets-ep'),
});

const tokenOf = async (modelName: string) =>
  (await cloud.clients.sagemaker.send(new DescribeModelCommand({ ModelName: modelName }))).PrimaryContainer?.Environment?.HF_TOKEN;

/** Activities whose every AWS call would fail with a network error: a typed refusal proves no call was made. */
const unreachable = (env: NodeJS.ProcessEnv) =>
  createActivities(createAwsClients({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: TEST_CREDENTIALS }), env);

describe('Secrets Manager', () => {
  it('resolves a secret by name, and a key of a JSON secret by ARN, into Environment.HF_TOKEN', async () => {
    const plain = sentinel('plain');
    await createSecret('secrets-test/plain', plain);
    await a.createModel(modelInput('secrets-m-1', { secretId: 'secrets-test/plain' }));
    expect(await tokenOf('secrets-m-1')).toBe(plain);

    const inJson = sentinel('json');
    const arn = await createSecret('secrets-test/json', JSON.stringify({ token: inJson, other: 'x' }));
    await a.createModel(modelInput('secrets-m-2', { secretId: arn, jsonKey: 'token' }));
    expect(await tokenOf('secrets-m-2')).toBe(inJson);
  });

  it('a secret that does not exist is a non-retryable failure naming the secret', async () => {
    const failure = await failureOf(a.createModel(modelInput('secrets-m-3', { secretId: 'secrets-test/absent' })));
    expect(failure).toMatchObject({ type: 'ResourceNotFoundException', nonRetryable: true });
    expect(failure.message).toContain('GetSecretValue secrets-test/absent');
  });

  it('a jsonKey the secret lacks, or a secret that is not JSON, fails without quoting the secret', async () => {
    const notJson = sentinel('notjson');
    await createSecret('secrets-test/not-json', notJson);
    const parse = await failureOf(a.createModel(modelInput('secrets-m-4', { secretId: 'secrets-test/not-json', jsonKey: 'token' })));
    expect(parse).toMatchObject({ type: 'SecretNotFound', nonRetryable: true });
    expect(parse.message).toBe('model.hfTokenSecret.jsonKey: secret secrets-test/not-json is not a JSON object, so it has no key token');

    const other = sentinel('other');
    await createSecret('secrets-test/other-key', JSON.stringify({ password: other }));
    const missing = await failureOf(a.createModel(modelInput('secrets-m-5', { secretId: 'secrets-test/other-key', jsonKey: 'token' })));
    expect(missing.message).toBe('model.hfTokenSecret.jsonKey: secret secrets-test/other-key has no non-empty string at key token');
    expect(JSON.stringify([parse, missing, parse.stack, missing.stack])).not.toMatch(/sentinel-/);
  });

  it('an AWS validation error that quotes the token reaches the failure with the token scrubbed', async () => {
    // SageMaker caps an environment value at 1024 characters and its error quotes the value.
    const long = sentinel('long').repeat(40);
    await createSecret('secrets-test/too-long', long);
    const failure = await failureOf(a.createModel(modelInput('secrets-m-6', { secretId: 'secrets-test/too-long' })));
    expect(failure).toMatchObject({ type: 'ValidationException', nonRetryable: true });
    expect(failure.message).toContain("Value '[redacted]' at 'primaryContainer.environment.HF_TOKEN' failed to satisfy constraint");
    expect(failure.message).not.toContain('sentinel-');
  });
});

describe('worker environment variables', () => {
  it('resolves an allowlisted variable', async () => {
    const token = sentinel('env');
    await cloud.activitiesWithEnv({ HUGGING_FACE_HUB_TOKEN: token }).createModel(modelInput('secrets-m-7', { envVar: 'HUGGING_FACE_HUB_TOKEN' }));
    expect(await tokenOf('secrets-m-7')).toBe(token);
  });

  it('refuses a variable off the allowlist before any AWS call, naming the rule and what this worker allows', async () => {
    const failure = await failureOf(unreachable({ TEAM_HF_TOKEN: 'x'.repeat(20) }).createModel(modelInput('secrets-m-8', { envVar: 'TEAM_HF_TOKEN' })));
    expect(failure).toMatchObject({ type: 'SecretNotAllowed', nonRetryable: true });
    expect(failure.message).toMatch(/^model\.hfTokenSecret\.envVar: TEAM_HF_TOKEN must name a token variable on the worker's allowlist/);
    expect(failure.message).toContain('this worker allows HF_TOKEN, HUGGING_FACE_HUB_TOKEN');
  });

  it("LLMOPS_SECRET_ENV_ALLOWLIST extends the allowlist, but never to the worker's own credentials", async () => {
    const token = sentinel('team');
    const env = { LLMOPS_SECRET_ENV_ALLOWLIST: 'TEAM_HF_TOKEN, AWS_SECRET_ACCESS_KEY', TEAM_HF_TOKEN: token, AWS_SECRET_ACCESS_KEY: sentinel('aws') };
    await cloud.activitiesWithEnv(env).createModel(modelInput('secrets-m-9', { envVar: 'TEAM_HF_TOKEN' }));
    expect(await tokenOf('secrets-m-9')).toBe(token);

    const failure = await failureOf(unreachable(env).createModel(modelInput('secrets-m-10', { envVar: 'AWS_SECRET_ACCESS_KEY' })));
    expect(failure).toMatchObject({ type: 'SecretNotAllowed', nonRetryable: true });
    expect(failure.message).toContain('this worker allows HF_TOKEN, HUGGING_FACE_HUB_TOKEN, TEAM_HF_TOKEN');
  });
});

describe('scrubbing', () => {
  it('removes a registered value in every form it is written in, and token-shaped strings', () => {
    const secret = `${sentinel('forms')}"&/`;
    registerSecret(secret);
    const text = [secret, JSON.stringify({ v: secret }), encodeURIComponent(secret), `hf_${'a1'.repeat(16)}`].join(' | ');
    expect(scrubSecrets(text)).toBe('[redacted] | {"v":"[redacted]"} | [redacted] | [redacted]');
  });

  it('scrubs a failure in place: message, stack, details and cause, keeping its type and retryability', () => {
    const secret = sentinel('failure');
    registerSecret(secret);
    const failure = ApplicationFailure.create({
      message: `failed with ${secret}`,
      type: 'ModelError',
      nonRetryable: true,
      details: [{ body: `echo ${secret}` }],
      cause: new Error(`inner ${secret}`),
    });
    expect(scrubError(failure)).toBe(failure);
    expect(failure).toMatchObject({ type: 'ModelError', nonRetryable: true, message: 'failed with [redacted]', details: [{ body: 'echo [redacted]' }] });
    expect(failure.cause?.message).toBe('inner [redacted]');
    expect(`${failure.stack} ${failure.cause?.stack}`).not.toContain(secret);
  });

  it('the worker interceptor scrubs whatever an activity throws, and leaves results alone', async () => {
    const secret = sentinel('interceptor');
    registerSecret(secret);
    const { execute } = scrubActivityFailures({} as never).inbound!;
    const input = { args: [], headers: {} };
    const thrown = await execute!(input, async () => {
      throw new TypeError(`model said ${secret}`);
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toBe('model said [redacted]');
    const result = { modelArn: 'arn:aws:sagemaker:us-east-1:123456789012:model/m' };
    expect(await execute!(input, async () => result)).toBe(result);
  });

  it('the worker logger writes no line holding a resolved value, wherever it sits in the record', () => {
    const secret = sentinel('log');
    // A process of its own: the logger writes to file descriptor 2, which is read whole here.
    const script = `
      import { registerSecret } from './activities/secret-registry.ts';
      import { logger } from './workers/logger.ts';
      registerSecret(${JSON.stringify(secret)});
      const err = new Error('AWS said ' + ${JSON.stringify(secret)});
      logger.error({ err, request: { Environment: { OTHER: ${JSON.stringify(secret)} } } }, 'failed: ' + ${JSON.stringify(secret)});`;
    const run = spawnSync('npx', ['tsx', '--eval', script], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const out = run.stderr;
    const line = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(line.msg).toBe('failed: [redacted]');
    expect(line.err.message).toBe('AWS said [redacted]');
    expect(line.request.Environment.OTHER).toBe('[redacted]');
    expect(out).not.toContain(secret);
  });
});
