// ensureExecutionRole against the local cloud's IAM (moto): create with SageMaker's trust policy
// and the inline hosting policy, reuse on a second run, refuse a role SageMaker cannot assume.
import { CreateRoleCommand, GetRoleCommand, GetRolePolicyCommand, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executionPolicy } from '../../activities/iam.js';
import { failureOf, startActivityCloud, type ActivityCloud } from './support.js';

let env: ActivityCloud;
beforeAll(async () => {
  env = await startActivityCloud();
});
afterAll(async () => {
  await env?.close();
});

/** IAM returns policy documents URL-encoded. */
const parsePolicy = (doc: string | undefined) => JSON.parse(decodeURIComponent(doc ?? '')) as { Statement: Record<string, unknown>[] };

describe('ensureExecutionRole', () => {
  it('creates the role with a trust policy for sagemaker.amazonaws.com and the inline hosting policy', async () => {
    const out = await env.activities.ensureExecutionRole({ roleName: 'LlmOpsIamCreate' });
    expect(out.created).toBe(true);
    expect(out.roleArn).toMatch(/^arn:aws:iam::\d{12}:role\/LlmOpsIamCreate$/);

    const { Role } = await env.clients.iam.send(new GetRoleCommand({ RoleName: 'LlmOpsIamCreate' }));
    expect(Role?.Arn).toBe(out.roleArn);
    const trust = parsePolicy(Role?.AssumeRolePolicyDocument);
    expect(trust.Statement).toEqual([{ Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' }, Action: 'sts:AssumeRole' }]);

    const { PolicyNames } = await env.clients.iam.send(new ListRolePoliciesCommand({ RoleName: 'LlmOpsIamCreate' }));
    expect(PolicyNames).toEqual(['sagemaker-hosting']);
    const inline = await env.clients.iam.send(new GetRolePolicyCommand({ RoleName: 'LlmOpsIamCreate', PolicyName: 'sagemaker-hosting' }));
    const policy = parsePolicy(inline.PolicyDocument);
    expect(policy).toEqual(JSON.parse(executionPolicy()));
    const actions = policy.Statement.flatMap((s) => s.Action as string[]);
    expect(actions).toEqual(expect.arrayContaining(['ecr:BatchGetImage', 'logs:PutLogEvents', 'cloudwatch:PutMetricData']));
    // No model-data buckets asked for: no S3 access granted.
    expect(actions.some((a) => a.startsWith('s3:'))).toBe(false);
  });

  it('grants read access to the model-data buckets it is given', async () => {
    await env.activities.ensureExecutionRole({ roleName: 'LlmOpsIamBuckets', modelDataBuckets: ['my-models'] });
    const inline = await env.clients.iam.send(new GetRolePolicyCommand({ RoleName: 'LlmOpsIamBuckets', PolicyName: 'sagemaker-hosting' }));
    const s3 = parsePolicy(inline.PolicyDocument).Statement.find((s) => (s.Action as string[]).includes('s3:GetObject'));
    expect(s3?.Resource).toEqual(['arn:aws:s3:::my-models', 'arn:aws:s3:::my-models/*']);
  });

  it('reuses the role on a second run: created false, same ARN', async () => {
    const first = await env.activities.ensureExecutionRole({ roleName: 'LlmOpsIamReuse' });
    const second = await env.activities.ensureExecutionRole({ roleName: 'LlmOpsIamReuse' });
    expect(first.created).toBe(true);
    expect(second).toEqual({ roleArn: first.roleArn, created: false });
  });

  it('reuses a role someone else created, if it trusts SageMaker', async () => {
    const { Role } = await env.clients.iam.send(
      new CreateRoleCommand({
        RoleName: 'LlmOpsIamPreexisting',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    );
    const out = await env.activities.ensureExecutionRole({ roleName: 'LlmOpsIamPreexisting' });
    expect(out).toEqual({ roleArn: Role!.Arn, created: false });
  });

  it('refuses a pre-existing role whose trust policy is for another service (non-retryable ExecutionRoleMismatch)', async () => {
    await env.clients.iam.send(
      new CreateRoleCommand({
        RoleName: 'LlmOpsIamEc2Role',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    );
    const failure = await failureOf(env.activities.ensureExecutionRole({ roleName: 'LlmOpsIamEc2Role' }));
    expect(failure.type).toBe('ExecutionRoleMismatch');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('LlmOpsIamEc2Role');
    expect(failure.message).toContain('sagemaker.amazonaws.com');
    // The role was left as it was: no policy attached to someone else's role.
    const { PolicyNames } = await env.clients.iam.send(new ListRolePoliciesCommand({ RoleName: 'LlmOpsIamEc2Role' }));
    expect(PolicyNames).toEqual([]);
  });

  it('two concurrent runs on a fresh name create the role once and agree on its ARN', async () => {
    const runs = await Promise.all([
      env.activities.ensureExecutionRole({ roleName: 'LlmOpsIamRace' }),
      env.activities.ensureExecutionRole({ roleName: 'LlmOpsIamRace' }),
    ]);
    expect(runs.filter((r) => r.created)).toHaveLength(1);
    expect(runs[0].roleArn).toBe(runs[1].roleArn);
    const { Role } = await env.clients.iam.send(new GetRoleCommand({ RoleName: 'LlmOpsIamRace' }));
    expect(Role?.Arn).toBe(runs[0].roleArn);
  });

  it('a role whose trust policy only denies SageMaker is refused too (ExecutionRoleMismatch)', async () => {
    await env.clients.iam.send(
      new CreateRoleCommand({
        RoleName: 'LlmOpsIamDenyRole',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Deny', Principal: { Service: 'sagemaker.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    );
    const failure = await failureOf(env.activities.ensureExecutionRole({ roleName: 'LlmOpsIamDenyRole' }));
    expect(failure).toMatchObject({ type: 'ExecutionRoleMismatch', nonRetryable: true });
  });

  it('a re-run completes a role an interrupted run created without its inline policy', async () => {
    // What an attempt leaves when it dies (or PutRolePolicy is throttled) right after CreateRole:
    // the role exactly as ensureExecutionRole creates it, tagged as ours, but no policy yet.
    await env.clients.iam.send(
      new CreateRoleCommand({
        RoleName: 'LlmOpsIamHalfDone',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        }),
        Tags: [{ Key: 'llmops:managed', Value: 'true' }],
      }),
    );
    await env.activities.ensureExecutionRole({ roleName: 'LlmOpsIamHalfDone' });
    const { PolicyNames } = await env.clients.iam.send(new ListRolePoliciesCommand({ RoleName: 'LlmOpsIamHalfDone' }));
    expect(PolicyNames).toEqual(['sagemaker-hosting']);
  });
});
