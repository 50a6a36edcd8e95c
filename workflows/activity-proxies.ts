// How the workflows call activities. Two shapes: ordinary control-plane calls (short timeout,
// bounded retries with backoff) and polls (retry-as-poll: unlimited attempts, each "not yet" is a failed attempt
// retried after the poll interval, bounded by the caller's deadline, and none of it is
// recorded in history until the last attempt).
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';

// Errors that no retry fixes; the activities also mark them non-retryable, this is a backstop.
const NON_RETRYABLE = [
  'ValidationException',
  'AccessDeniedException',
  'AccessDenied',
  'ResourceLimitExceeded',
  'ResourceInUse',
  'ResourceConflict',
  'EndpointFailed',
  'EndpointUpdateFailed',
  'SecretNotFound',
  'ExecutionRoleMismatch',
];

export function controlPlane(summary?: string): Activities {
  return proxyActivities<Activities>({
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 8, nonRetryableErrorTypes: NON_RETRYABLE },
    ...(summary ? { summary } : {}),
  });
}

export function poller(opts: { deadlineMs: number; pollIntervalMs: number; summary?: string }): Activities {
  const options: ActivityOptions = {
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: opts.deadlineMs,
    retry: {
      initialInterval: opts.pollIntervalMs,
      backoffCoefficient: 1,
      maximumInterval: opts.pollIntervalMs,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
    ...(opts.summary ? { summary: opts.summary } : {}),
  };
  return proxyActivities<Activities>(options);
}
