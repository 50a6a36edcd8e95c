// SageMaker assumes the model's ExecutionRoleArn when it creates the model, so AWS rejects a
// role that does not exist or does not trust sagemaker.amazonaws.com. IAM lives in moto here;
// checking against it catches a deploy that forgot (or mis-ordered) the role creation.
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { SAGEMAKER_PRINCIPAL, trustsSageMaker } from '../../common/iam-trust.js';
import { AwsServiceError, validationError } from './protocol.js';

/** Resolves when SageMaker could assume the role; throws the AWS ValidationException if not. */
export type RoleVerifier = (roleArn: string) => Promise<void>;

export function iamRoleVerifier(iamEndpoint: string): RoleVerifier {
  const iam = new IAMClient({
    endpoint: iamEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 2,
  });
  return async (roleArn) => {
    const cannotAssume = validationError(
      `Could not assume role ${roleArn}. Please ensure that the role exists and allows principal '${SAGEMAKER_PRINCIPAL}' to assume the role.`,
    );
    // The role name is the last path segment: arn:aws:iam::123456789012:role/some/path/Name
    const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
    let role;
    try {
      role = (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role;
    } catch (err) {
      if ((err as Error).name === 'NoSuchEntity' || (err as Error).name === 'NoSuchEntityException') throw cannotAssume;
      throw new AwsServiceError('InternalFailure', `IAM (moto) did not answer: ${(err as Error).message}`, 500);
    }
    if (role?.Arn !== roleArn || !trustsSageMaker(role.AssumeRolePolicyDocument)) throw cannotAssume;
  };
}
