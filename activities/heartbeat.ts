// Heartbeating while an activity waits on one long call, so that a worker that dies is noticed
// within the heartbeat timeout (10 s) rather than after the whole start-to-close timeout.
import { asyncLocalStorage, heartbeat } from '@temporalio/activity';

export async function heartbeatWhile<T>(work: Promise<T>, details?: unknown, everyMs = 1000): Promise<T> {
  // Called directly too (tests, benches), where there is no activity to heartbeat.
  if (!asyncLocalStorage.getStore()) return work;
  const beat = setInterval(() => heartbeat(details), everyMs);
  try {
    return await work;
  } finally {
    clearInterval(beat);
  }
}
