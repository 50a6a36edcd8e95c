// The SageMaker execution role: reuse it when it exists (after checking SageMaker may assume
// it), otherwise create it with a least-privilege inline policy.
import { CreateRoleCommand, GetRoleCommand, PutRolePolicyCommand, type IAMClient } from '@aws-sdk/client-iam';
import { ApplicationFailure } from '@temporalio/common';
import { trustsSageMaker } from '../common/iam-trust.js';
import { callAws, callAwsOrUndefined, classifyAwsError, isAlreadyExists } from './aws-errors.js';

const TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/** What a hosted model container needs: pull its image, write its logs and metrics. */
export function executionPolicy(modelDataBuckets: string[] = []): string {
  const statements: object[] = [
    { Effect: 'Allow', Action: ['ecr:GetAuthorizationToken'], Resource: '*' },
    { Effect: 'Allow', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'], Resource: '*' },
    {
      Effect: 'Allow',
      Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      Resource: 'arn:aws:logs:*:*:log-group:/aws/sagemaker/*',
    },
    { Effect: 'Allow', Action: ['cloudwatch:PutMetricData'], Resource: '*', Condition: { StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } } },
  ];
  if (modelDataBuckets.length) {
    statements.push({
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:ListBucket'],
      Resource: modelDataBuckets.flatMap((b) => [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/*`]),
    });
  }
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

/** Marks roles this project created, so it only ever repairs its own. */
const MANAGED_TAG = 'llmops:managed';

export interface EnsureRoleInput {
  roleName: string;
  modelDataBuckets?: string[];
}

export function createIamActivities({ iam }: { iam: IAMClient }) {
  const getRole = async (roleName: string) =>
    (await callAwsOrUndefined(`GetRole ${roleName}`, () => iam.send(new GetRoleCommand({ RoleName: roleName }))))?.Role;

  const putPolicy = (roleName: string, modelDataBuckets?: string[]) =>
    callAws(`PutRolePolicy ${roleName}`, () =>
      iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: 'sagemaker-hosting', PolicyDocument: executionPolicy(modelDataBuckets) })),
    );

  function verifyTrust(role: { Arn?: string; AssumeRolePolicyDocument?: string }, roleName: string) {
    if (!trustsSageMaker(role.AssumeRolePolicyDocument)) {
      throw ApplicationFailure.nonRetryable(
        `Role ${roleName} exists but its trust policy does not let sagemaker.amazonaws.com assume it; fix the role or pass executionRoleArn`,
        'ExecutionRoleMismatch',
      );
    }
    return role.Arn!;
  }

  return {
    async ensureExecutionRole({ roleName, modelDataBuckets }: EnsureRoleInput): Promise<{ roleArn: string; created: boolean }> {
      const existing = await getRole(roleName);
      if (existing) {
        const roleArn = verifyTrust(existing, roleName);
        // A run that died between CreateRole and PutRolePolicy left a role without
        // permissions; PutRolePolicy is an upsert, so finishing the job is always safe.
        if (existing.Tags?.some((t) => t.Key === MANAGED_TAG && t.Value === 'true')) await putPolicy(roleName, modelDataBuckets);
        return { roleArn, created: false };
      }
      try {
        const created = await iam.send(
          new CreateRoleCommand({
            RoleName: roleName,
            AssumeRolePolicyDocument: TRUST_POLICY,
            Description: 'Execution role for SageMaker LLM endpoints deployed by llmops workflows',
            Tags: [{ Key: MANAGED_TAG, Value: 'true' }],
          }),
        );
        await putPolicy(roleName, modelDataBuckets);
        return { roleArn: created.Role!.Arn!, created: true };
      } catch (err) {
        // Another deploy created it between our GetRole and CreateRole.
        if (isAlreadyExists(err)) return { roleArn: verifyTrust((await getRole(roleName))!, roleName), created: false };
        return classifyAwsError(err, `CreateRole ${roleName}`);
      }
    },
  };
}
