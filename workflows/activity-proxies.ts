// How the workflows call activities: every proxy shape in one place. Control-plane calls
// (short start-to-close timeout, bounded retries with backoff); polls (retry-as-poll: unlimited
// attempts, each "not yet" is a failed attempt retried after the poll interval, bounded by the
// caller's deadline, and none of it is recorded in history until the last attempt); undos
// (retry-as-poll until the compensation's own deadline); the smoke-test invocation
// (heartbeating); and the RAG shapes: ingest batches (long, heartbeating), the in-process query
// steps (local activities, no task-queue round trip each) and generation through the endpoint (a local activity too;
// the heartbeating ordinary activity for runs started before that).
//
// Crash recovery: a worker that dies mid-activity is noticed when the attempt's start-to-close
// (quick calls, 15 s) or heartbeat (long calls, 10 s) timeout passes, so another worker carries
// on within about 15 s. Every saga call waits for a cancelled activity to finish
// (WAIT_CANCELLATION_COMPLETED): a create still in flight when the run is cancelled has either
// happened or not by the time compensation looks, so nothing is created behind its back.
import { ActivityCancellationType, proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { RagActivities } from '../activities/rag.js';

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
  'EndpointUpdateRollbackFailed',
  'SecretNotFound',
  'ExecutionRoleMismatch',
];

/** One AWS call (or a handful): a lost worker is noticed after this long. */
export const QUICK_CALL_TIMEOUT = '15 seconds';

export function controlPlaneActivities(summary?: string): Activities {
  return proxyActivities<Activities>({
    startToCloseTimeout: QUICK_CALL_TIMEOUT,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    ...(summary ? { summary } : {}),
  });
}

export function pollingActivities(opts: { deadlineMs: number; pollIntervalMs: number; summary?: string }): Activities {
  const options: ActivityOptions = {
    startToCloseTimeout: QUICK_CALL_TIMEOUT,
    scheduleToCloseTimeout: opts.deadlineMs,
    retry: {
      initialInterval: opts.pollIntervalMs,
      backoffCoefficient: 1,
      maximumInterval: opts.pollIntervalMs,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
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

/**
 * One chunk of a batch fan-out: all its records through the endpoint, as long as `chunkMinutes`.
 * It heartbeats every second with the answers so far, so a lost worker shows within 30 s and the
 * retry resumes after the last finished record. A record the container refuses fails the batch.
 */
export function fanOutChunkActivities(opts: { chunkMinutes: number }): Activities {
  return proxyActivities<Activities>({
    startToCloseTimeout: opts.chunkMinutes * 60_000,
    heartbeatTimeout: '30 seconds',
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '30s',
      maximumAttempts: 8,
      nonRetryableErrorTypes: [...NON_RETRYABLE, 'RecordFailed', 'ModelError', 'InputChanged', 'ValidationError'],
    },
  });
}

/** How long compensation keeps trying one undo before it reports it as not undone. */
export const COMPENSATION_DEADLINE_MS = 60 * 60_000;

/**
 * Undos: each attempt is one try (or one "not deletable yet" poll), retried every poll interval
 * (backing off to 30 s on errors) until the compensation deadline, not a handful of attempts.
 */
export function compensationActivities(opts: { pollIntervalMs: number; deadlineMs?: number }): Activities {
  return proxyActivities<Activities>({
    startToCloseTimeout: QUICK_CALL_TIMEOUT,
    scheduleToCloseTimeout: opts.deadlineMs ?? COMPENSATION_DEADLINE_MS,
    retry: {
      initialInterval: opts.pollIntervalMs,
      backoffCoefficient: 1.5,
      maximumInterval: Math.max(opts.pollIntervalMs, 30_000),
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
}

/** The deploy's smoke test: an invocation can take up to AWS's 60 s; it heartbeats meanwhile. */
export function invocationActivities(): Activities {
  return proxyActivities<Activities>({
    startToCloseTimeout: '70 seconds',
    heartbeatTimeout: '10 seconds',
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumAttempts: 4,
      nonRetryableErrorTypes: [...NON_RETRYABLE, 'ModelError', 'UnexpectedModelResponse'],
    },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
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
 * Generation through the endpoint as a local activity, alone or inside a whole query
 * (answerQuery, which prepares the prompt first: reads that a retry may redo): no task-queue
 * round trip before and after it, so a whole query is one workflow task (ragQuery since the
 * 'rag-generate-local-activity' patch). No heartbeat is needed to notice a lost worker: while
 * a local activity runs, the SDK keeps its workflow task alive with workflow-task heartbeats,
 * and when the worker dies the task times out (the workflow task timeout, 10 s by default) and
 * another worker replays the query, running the steps not yet recorded again (they only read,
 * so that is safe).
 */
export function generationLocalActivities(): RagActivities {
  return proxyLocalActivities<RagActivities>({
    startToCloseTimeout: '2 minutes',
    retry: {
      initialInterval: '500ms',
      backoffCoefficient: 2,
      maximumAttempts: 4,
      nonRetryableErrorTypes: ['InvalidInput', 'ValidationError', 'ModelError', 'UnexpectedModelResponse'],
    },
  });
}

/** Generation through the endpoint as an ordinary activity: what runs started before the patch use. */
export function generationActivities(): RagActivities {
  return proxyActivities<RagActivities>({
    startToCloseTimeout: '2 minutes',
    // generate heartbeats every second while the endpoint works; a lost worker shows in 10 s.
    heartbeatTimeout: '10 seconds',
    retry: {
      initialInterval: '500ms',
      backoffCoefficient: 2,
      maximumAttempts: 4,
      nonRetryableErrorTypes: ['ValidationError', 'ModelError', 'UnexpectedModelResponse'],
    },
  });
}
