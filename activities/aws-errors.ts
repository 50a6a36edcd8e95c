// Turns AWS SDK errors into Temporal failures: errors that no retry can fix (validation,
// access denied, quota, in use) become non-retryable ApplicationFailures carrying AWS's own
// message; throttling, 5xx, network errors and the 4xx codes that mean "try again" (a
// concurrent change, a request timeout, expired credentials the chain will refresh) are
// rethrown as retryable so the activity's retry policy backs off.
import { ApplicationFailure } from '@temporalio/common';
import { scrubSecrets } from './secret-registry.js';

interface AwsError {
  name?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

const NON_RETRYABLE = new Set([
  'ValidationException',
  'ValidationError',
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ResourceLimitExceeded',
  'LimitExceededException',
  'ResourceInUse',
  'ResourceNotFound',
  'MalformedPolicyDocument',
  'MalformedPolicyDocumentException',
  'InvalidParameterValue',
  'ModelError',
  'ConflictException',
]);

const THROTTLING = /throttl|toomanyrequests|requestlimitexceeded|slowdown/i;

// 4xx codes that a later attempt can succeed on, from the services' own error lists
// (botocore service models and AWS's "common errors" pages): another change to the same
// resource is in flight (SageMaker/Auto Scaling ConcurrentUpdateException, IAM
// ConcurrentModification, Route 53-style PriorRequestNotComplete), the request took too long
// (S3 RequestTimeout), or the session credentials expired and the SDK's chain refreshes them.
const RETRYABLE_4XX = new Set([
  'ConcurrentUpdateException',
  'ConcurrentModification',
  'ConcurrentModificationException',
  'PriorRequestNotComplete',
  'RequestTimeout',
  'RequestTimeoutException',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
  'IDPCommunicationError',
  'ProvisionedThroughputExceededException',
]);

/** Whether a retry can fix this AWS error: throttling, 5xx, and the codes above. */
function isTransientAwsError(err: AwsError): boolean {
  const name = err.name ?? '';
  const status = err.$metadata?.httpStatusCode ?? 0;
  return THROTTLING.test(name) || RETRYABLE_4XX.has(name) || err.$fault === 'server' || status >= 500 || status === 429;
}

export function isAwsError(err: unknown): err is AwsError {
  return typeof err === 'object' && err !== null && ('$metadata' in err || '$fault' in err);
}

// The codes that mean "no such thing": IAM, Application Auto Scaling, SageMaker jobs, S3
// (HeadObject's bare 404 is NotFound; GetObject and bucket calls say NoSuchKey / NoSuchBucket).
const NOT_FOUND = new Set(['NoSuchEntity', 'NoSuchEntityException', 'ObjectNotFoundException', 'ResourceNotFound', 'NotFound', 'NoSuchKey', 'NoSuchBucket']);

/**
 * "Not found" across services: the codes above, and SageMaker's ValidationException wording
 * for models, configs and endpoints ("Could not find endpoint ..."). The one test for it.
 */
export function isNotFound(err: unknown): boolean {
  if (!isAwsError(err)) return false;
  if (NOT_FOUND.has(err.name ?? '')) return true;
  return (err.name === 'ValidationException' || err.name === 'ValidationError') && /could not find|not found|does not exist/i.test(err.message ?? '');
}

export function isAlreadyExists(err: unknown): boolean {
  if (!isAwsError(err)) return false;
  if (err.name === 'EntityAlreadyExists' || err.name === 'EntityAlreadyExistsException') return true;
  // SageMaker says ValidationException for models/configs/endpoints, ResourceInUse for jobs.
  return (err.name === 'ValidationException' || err.name === 'ResourceInUse') && /already exist/i.test(err.message ?? '');
}

/** Rethrows `err` classified; `action` says what we were doing, e.g. "CreateModel demo-m-1a2b". */
export function classifyAwsError(err: unknown, action: string): never {
  if (err instanceof ApplicationFailure) throw err;
  if (!isAwsError(err)) throw err; // network errors and bugs: retryable by default
  const name = err.name ?? 'AwsError';
  // AWS's validation errors quote the offending value, which may be a token we resolved.
  const message = scrubSecrets(`${action}: ${name}: ${err.message ?? ''}`.trim());
  const details = [{ awsErrorCode: name, requestId: err.$metadata?.requestId, httpStatusCode: err.$metadata?.httpStatusCode }];
  const status = err.$metadata?.httpStatusCode ?? 0;
  if (!isTransientAwsError(err) && (NON_RETRYABLE.has(name) || (status >= 400 && status < 500) || err.$fault === 'client')) {
    throw ApplicationFailure.create({ message, type: name, nonRetryable: true, details });
  }
  throw ApplicationFailure.create({ message, type: name, nonRetryable: false, details });
}

/** Runs one AWS call, classifying any error it throws. */
export async function callAws<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    classifyAwsError(err, action);
  }
}

/** Runs one AWS call whose "not found" is an answer, not an error: undefined. */
export async function callAwsOrUndefined<T>(action: string, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    classifyAwsError(err, action);
  }
}

/** The pages of an SDK paginator (`paginateListModels(...)`), classifying any error a page throws. */
export async function* awsPages<T>(action: string, pages: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* pages;
  } catch (err) {
    classifyAwsError(err, action);
  }
}

/**
 * "Not yet" from a poll: retryable, and BENIGN so Temporal logs it at DEBUG and keeps it out
 * of failure metrics: it is how waiting works here, not something going wrong.
 */
export function notYet(message: string, type: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type, nonRetryable: false, category: 'BENIGN' });
}
