// How the workflows call activities: every proxy shape in one place. Control-plane calls
// (short timeout, bounded retries with backoff); polls (retry-as-poll: unlimited attempts,
// each "not yet" is a failed attempt retried after the poll interval, bounded by the caller's
// deadline, and none of it is recorded in history until the last attempt); and the RAG
// shapes: ingest batches (long, heartbeating), the in-process query steps (local activities,
// no task-queue round trip each) and generation through the endpoint (a local activity too;
// the heartbeating ordinary activity for runs started before that).
import { proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { RagActivities } from '../activities/rag';

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

export function controlPlaneActivities(summary?: string): Activities {
  return proxyActivities<Activities>({
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 8, nonRetryableErrorTypes: NON_RETRYABLE },
    ...(summary ? { summary } : {}),
  });
}

export function pollingActivities(opts: { deadlineMs: number; pollIntervalMs: number; summary?: string }): Activities {
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

/**
 * Counting the records under an S3 prefix: as long as the data needs, heartbeating with its
 * position, so a lost worker shows within seconds and the retry resumes where it stopped.
 */
export function countingActivities(): Activities {
  return proxyActivities<Activities>({
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: '10 seconds',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 8, nonRetryableErrorTypes: NON_RETRYABLE },
  });
}

/** Listing a source and ingesting one batch of its documents (read, chunk, embed, upsert). */
export function ingestActivities(): RagActivities {
  return proxyActivities<RagActivities>({
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '2 minutes',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 5, nonRetryableErrorTypes: ['InvalidSource', 'InvalidInput'] },
  });
}

/** The fast in-process steps of a query: embed, retrieve, build the prompt, record monitoring. */
export function ragLocalActivities(): RagActivities {
  return proxyLocalActivities<RagActivities>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '200ms', maximumAttempts: 3, nonRetryableErrorTypes: ['InvalidInput'] },
  });
}

/**
 * Generation through the endpoint as a local activity: no task-queue round trip before and after
 * it, so a whole query is one workflow task (ragQuery since the 'rag-generate-local-activity'
 * patch). No heartbeat is needed to notice a lost worker: while a local activity runs, the SDK
 * keeps its workflow task alive with workflow-task heartbeats, and when the worker dies the task
 * times out (the workflow task timeout, 10 s by default) and another worker replays the query,
 * running the steps not yet recorded again (they only read, so that is safe).
 */
export function generationLocalActivities(): RagActivities {
  return proxyLocalActivities<RagActivities>({
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumAttempts: 4, nonRetryableErrorTypes: ['ValidationError', 'ModelError', 'UnexpectedModelResponse'] },
  });
}

/** Generation through the endpoint as an ordinary activity: what runs started before the patch use. */
export function generationActivities(): RagActivities {
  return proxyActivities<RagActivities>({
    startToCloseTimeout: '2 minutes',
    // generate heartbeats every second while the endpoint works; a lost worker shows in 10 s.
    heartbeatTimeout: '10 seconds',
    retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumAttempts: 4, nonRetryableErrorTypes: ['ValidationError', 'ModelError', 'UnexpectedModelResponse'] },
  });
}
