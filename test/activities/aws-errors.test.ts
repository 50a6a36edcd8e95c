// Error classification on real errors from the local cloud (our SageMaker emulator and moto's IAM)
// and on synthetic ones shaped like the SDK's for cases a local cloud cannot produce on demand
// (throttling, 5xx): what no retry can fix is non-retryable with AWS's message, the rest retries.
import { CreateRoleCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import { CreateModelCommand, DescribeEndpointCommand, DescribeModelCommand } from '@aws-sdk/client-sagemaker';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients } from '../../activities/aws-clients.js';
import { callAws, classifyAwsError, isAlreadyExists, isNotFound } from '../../activities/aws-errors.js';
import { TEST_CREDENTIALS, TEST_ROLE_NAME, TGI_IMAGE, TINY_MODEL_ENV, startActivityCloud, type ActivityCloud } from './support.js';

let env: ActivityCloud;
beforeAll(async () => {
  env = await startActivityCloud();
});
afterAll(async () => {
  await env?.close();
});

/** The error a call rejects with (fails the test if it resolves). */
async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('Expected the call to fail');
}

/** What classifyAwsError throws for `err`. */
function classified(err: unknown, action = 'Action'): unknown {
  try {
    classifyAwsError(err, action);
  } catch (thrown) {
    return thrown;
  }
  throw new Error('classifyAwsError returned');
}

const sdkError = (name: string, message: string, fault: 'client' | 'server', httpStatusCode: number) =>
  Object.assign(new Error(message), { name, $fault: fault, $metadata: { httpStatusCode, requestId: 'req-1' } });

describe('classifyAwsError', () => {
  it("a real ValidationException from the local cloud becomes a non-retryable ApplicationFailure with AWS's message and type", async () => {
    const err = (await errorOf(env.clients.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'no-such-endpoint' })))) as Error;
    expect(err.name).toBe('ValidationException');

    const failure = classified(err, 'DescribeEndpoint no-such-endpoint');
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'ValidationException', nonRetryable: true });
    expect((failure as ApplicationFailure).message).toBe(`DescribeEndpoint no-such-endpoint: ValidationException: ${err.message}`);
    expect(err.message).toMatch(/^Could not find endpoint "arn:aws:sagemaker:us-east-1:\d{12}:endpoint\/no-such-endpoint"\.$/);
    expect((failure as ApplicationFailure).details).toEqual([{ awsErrorCode: 'ValidationException', requestId: expect.any(String), httpStatusCode: 400 }]);
  });

  it('callAws() runs a real call, passing its result through and classifying its error', async () => {
    const { Role } = await env.clients.iam.send(
      new CreateRoleCommand({ RoleName: 'ErrorsTestRole', AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }) }),
    );
    const got = await callAws('GetRole ErrorsTestRole', () => env.clients.iam.send(new GetRoleCommand({ RoleName: 'ErrorsTestRole' })));
    expect(got.Role?.Arn).toBe(Role?.Arn);

    const failure = await errorOf(callAws('GetRole Missing', () => env.clients.iam.send(new GetRoleCommand({ RoleName: 'MissingRole' }))));
    expect(failure).toBeInstanceOf(ApplicationFailure);
    // IAM's NoSuchEntity (HTTP 404, client fault): retrying cannot make the role appear.
    expect(failure).toMatchObject({ type: 'NoSuchEntityException', nonRetryable: true });
    expect((failure as ApplicationFailure).message).toMatch(/^GetRole Missing: NoSuchEntityException: .*MissingRole/);
  });

  it('a ThrottlingException is retryable', () => {
    const err = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    const failure = classified(err, 'DescribeEndpoint x');
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'ThrottlingException', nonRetryable: false });
    expect((failure as ApplicationFailure).message).toBe('DescribeEndpoint x: ThrottlingException: Rate exceeded');
  });

  it('other throttling names and HTTP 429 are retryable too', () => {
    for (const err of [
      sdkError('Throttling', 'Rate exceeded', 'client', 400),
      sdkError('TooManyRequestsException', 'Too many requests', 'client', 429),
      sdkError('RequestLimitExceeded', 'Request limit exceeded', 'client', 400),
      sdkError('SomeNewClientError', 'slow down', 'client', 429),
    ]) {
      expect(classified(err), err.name).toMatchObject({ type: err.name, nonRetryable: false });
    }
  });

  it('server-side (5xx) errors are retryable', () => {
    for (const err of [
      sdkError('ServiceUnavailable', 'Service unavailable', 'server', 503),
      sdkError('InternalFailure', 'An internal error occurred', 'server', 500),
    ]) {
      expect(classified(err), err.name).toMatchObject({ type: err.name, nonRetryable: false });
    }
  });

  it('4xx codes that mean "try again" are retryable: concurrent changes, request timeouts, expired tokens', () => {
    for (const err of [
      sdkError('ConcurrentUpdateException', 'Concurrent update on endpoint/demo/variant/AllTraffic', 'client', 400),
      sdkError('ConcurrentModification', 'Cannot perform the operation on the same entity at the same time', 'client', 409),
      sdkError('RequestTimeout', 'Your socket connection to the server was not read from or written to within the timeout period', 'client', 400),
      sdkError('PriorRequestNotComplete', 'The request was rejected because it is still processing a prior request', 'client', 400),
      sdkError('ExpiredToken', 'The security token included in the request is expired', 'client', 400),
      sdkError('ExpiredTokenException', 'The security token included in the request is expired', 'client', 403),
    ]) {
      expect(classified(err), err.name).toMatchObject({ type: err.name, nonRetryable: false });
    }
  });

  it('a 5xx without a fault marker is still retryable', () => {
    const err = Object.assign(new Error('Bad gateway'), { name: 'Unknown', $metadata: { httpStatusCode: 502 } });
    expect(classified(err)).toMatchObject({ nonRetryable: false });
  });

  it('access-denied, quota and resource-in-use errors are non-retryable', () => {
    for (const err of [
      sdkError('AccessDeniedException', 'User is not authorized', 'client', 400),
      sdkError('ResourceLimitExceeded', 'The account-level service limit is 0 instances', 'client', 400),
      sdkError('ResourceInUse', 'Cannot delete model in use', 'client', 400),
    ]) {
      expect(classified(err), err.name).toMatchObject({ type: err.name, nonRetryable: true });
    }
  });

  it('a real network error (nothing listening) is not made non-retryable', async () => {
    const unreachable = createAwsClients({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: TEST_CREDENTIALS });
    const err = await errorOf(unreachable.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'x' })));
    const thrown = classified(err, 'DescribeEndpoint x');
    expect(thrown instanceof ApplicationFailure && thrown.nonRetryable).toBe(false);
    unreachable.sagemaker.destroy();
  });

  it('an error that is not from AWS (a bug) is rethrown as it is, and an ApplicationFailure passes through', () => {
    const bug = new TypeError('cannot read properties of undefined');
    expect(classified(bug)).toBe(bug);
    const failure = ApplicationFailure.nonRetryable('already classified', 'Mine');
    expect(classified(failure)).toBe(failure);
  });
});

describe('isNotFound / isAlreadyExists on real errors', () => {
  it('recognise SageMaker\'s and IAM\'s "not found"', async () => {
    expect(isNotFound(await errorOf(env.clients.sagemaker.send(new DescribeModelCommand({ ModelName: 'no-such-model' }))))).toBe(true);
    expect(isNotFound(await errorOf(env.clients.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'no-such-endpoint' }))))).toBe(true);
    expect(isNotFound(await errorOf(env.clients.iam.send(new GetRoleCommand({ RoleName: 'NoSuchRoleHere' }))))).toBe(true);
  });

  it('recognise SageMaker\'s and IAM\'s "already exists"', async () => {
    const { roleArn } = await env.activities.ensureExecutionRole({ roleName: TEST_ROLE_NAME });
    const createModel = () =>
      env.clients.sagemaker.send(
        new CreateModelCommand({ ModelName: 'errors-model', ExecutionRoleArn: roleArn, PrimaryContainer: { Image: TGI_IMAGE, Environment: TINY_MODEL_ENV } }),
      );
    await createModel();
    const duplicateModel = await errorOf(createModel());
    expect(isAlreadyExists(duplicateModel)).toBe(true);
    expect(isNotFound(duplicateModel)).toBe(false);

    const duplicateRole = await errorOf(
      env.clients.iam.send(
        new CreateRoleCommand({ RoleName: TEST_ROLE_NAME, AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }) }),
      ),
    );
    expect(isAlreadyExists(duplicateRole)).toBe(true);
    await env.activities.deleteModel({ modelName: 'errors-model' });
  });

  it('a validation error about the input is neither', async () => {
    const invalid = await errorOf(env.clients.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'not_a_valid_name!' })));
    expect((invalid as Error).name).toBe('ValidationException');
    expect(isNotFound(invalid)).toBe(false);
    expect(isAlreadyExists(invalid)).toBe(false);
    expect(classified(invalid)).toMatchObject({ type: 'ValidationException', nonRetryable: true });
  });
});
