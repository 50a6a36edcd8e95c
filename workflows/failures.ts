// Reading failures that come back from activities, so a workflow's own failure can name the
// AWS reason instead of "Activity task failed".
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';

/**
 * What an activity itself threw, under the ActivityFailure wrapping an ordinary activity's
 * failure gets (a local activity's ApplicationFailure reaches the workflow as it is).
 */
export function innermostFailure(err: unknown): unknown {
  let current: unknown = err;
  while (current instanceof ActivityFailure && current.cause) current = current.cause;
  return current;
}

/** The innermost useful message: the activity's ApplicationFailure message (AWS's words). */
export function reasonOf(err: unknown): string {
  const current = innermostFailure(err);
  if (current instanceof TimeoutFailure) return `timed out (${current.timeoutType})`;
  return current instanceof Error ? current.message : String(current);
}

/** True when an activity gave up because its schedule-to-close deadline passed. */
export function isDeadline(err: unknown): boolean {
  if (!(err instanceof ActivityFailure)) return false;
  const cause = err.cause;
  if (cause instanceof TimeoutFailure) return true;
  // When the next retry would start after the deadline, the server ends the activity with the
  // last attempt's own failure ("not ready yet") instead of a TimeoutFailure.
  return cause instanceof ApplicationFailure && !cause.nonRetryable && /NotReady|NotDeleted|NotDone|Busy$/.test(cause.type ?? '');
}
