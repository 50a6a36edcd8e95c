// The local cloud as other AWS clients see it: the aws CLI (v1, botocore) and boto3 from the
// project virtualenv, pointed at it with --endpoint-url / AWS_ENDPOINT_URL and dummy
// credentials. SageMaker answers from our emulator, IAM/STS/Application Auto Scaling from moto.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCli, venvPython } from '../../dev/tools.js';
import { startLocalCloud, type LocalCloud } from '../../local/server.js';
import { SAGEMAKER_TRUST_POLICY, TGI_IMAGE, TINY_MODEL_ID, awsEnv } from './support.js';

const run = promisify(execFile);

describe('aws CLI and boto3 against the local cloud', () => {
  let stateDir: string;
  let cloud: LocalCloud;

  /** Runs `aws <args>` and parses its JSON output. */
  async function aws(...args: string[]): Promise<Record<string, any>> {
    const { stdout } = await run(awsCli(), ['--endpoint-url', cloud.url, '--output', 'json', ...args], { env: awsEnv(cloud.url) });
    return stdout.trim() ? (JSON.parse(stdout) as Record<string, any>) : {};
  }

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'cli-compat-'));
    cloud = await startLocalCloud({ port: 0, stateDir });
  });

  afterAll(async () => {
    await cloud?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('sts get-caller-identity answers with the local account', async () => {
    const identity = await aws('sts', 'get-caller-identity');
    expect(identity.Account).toBe('123456789012');
  });

  it('iam create-role / get-role go through to moto', async () => {
    const created = await aws('iam', 'create-role', '--role-name', 'cli-role', '--assume-role-policy-document', SAGEMAKER_TRUST_POLICY);
    expect(created.Role.Arn).toBe('arn:aws:iam::123456789012:role/cli-role');
    const fetched = await aws('iam', 'get-role', '--role-name', 'cli-role');
    expect(fetched.Role.RoleName).toBe('cli-role');
  });

  it('sagemaker commands reach the emulator, with AWS error output', async () => {
    const model = await aws(
      'sagemaker',
      'create-model',
      '--model-name',
      'cli-model',
      '--execution-role-arn',
      'arn:aws:iam::123456789012:role/cli-role',
      '--primary-container',
      JSON.stringify({ Image: TGI_IMAGE, Environment: { HF_MODEL_ID: TINY_MODEL_ID } }),
    );
    expect(model.ModelArn).toBe('arn:aws:sagemaker:us-east-1:123456789012:model/cli-model');
    expect(await aws('sagemaker', 'list-endpoints')).toEqual({ Endpoints: [] });

    const failure = await run(awsCli(), ['--endpoint-url', cloud.url, 'sagemaker', 'describe-endpoint', '--endpoint-name', 'nope'], {
      env: awsEnv(cloud.url),
    }).catch((err: { code: number; stderr: string }) => err);
    // CLI v1 exits 255 on a service error (v2: 254); either way, not 0.
    expect(failure).toMatchObject({
      code: expect.any(Number),
      stderr: expect.stringContaining(
        'An error occurred (ValidationException) when calling the DescribeEndpoint operation: Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/nope".',
      ),
    });
  });

  it('boto3 lists models, parsing timestamps', async () => {
    const script = [
      'import boto3, json',
      "models = boto3.client('sagemaker').list_models()['Models']",
      "print(json.dumps([[m['ModelName'], m['CreationTime'].year > 2000] for m in models]))",
    ].join('\n');
    const { stdout } = await run(venvPython(), ['-c', script], { env: awsEnv(cloud.url) });
    expect(JSON.parse(stdout)).toEqual([['cli-model', true]]);
  });

  // The sagemaker namespace is the local cloud's own (autoscaling.test.ts covers it against a real
  // endpoint); like AWS it refuses a target whose endpoint does not exist, while other
  // namespaces still reach moto.
  it('application-autoscaling: sagemaker targets need a real endpoint, other namespaces reach moto', async () => {
    const refused = await aws(
      'application-autoscaling',
      'register-scalable-target',
      '--service-namespace',
      'sagemaker',
      '--resource-id',
      'endpoint/cli-ep/variant/AllTraffic',
      '--scalable-dimension',
      'sagemaker:variant:DesiredInstanceCount',
      '--min-capacity',
      '1',
      '--max-capacity',
      '3',
    ).then(
      () => '',
      (err: { stderr: string }) => err.stderr,
    );
    expect(refused).toContain('ValidationException');
    await aws(
      'application-autoscaling',
      'register-scalable-target',
      '--service-namespace',
      'dynamodb',
      '--resource-id',
      'table/cli',
      '--scalable-dimension',
      'dynamodb:table:ReadCapacityUnits',
      '--min-capacity',
      '1',
      '--max-capacity',
      '3',
    );
    const { ScalableTargets } = await aws('application-autoscaling', 'describe-scalable-targets', '--service-namespace', 'dynamodb');
    expect(ScalableTargets).toEqual([expect.objectContaining({ ResourceId: 'table/cli', MinCapacity: 1, MaxCapacity: 3 })]);
  });
});
