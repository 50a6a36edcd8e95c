// The saga's undo stack: each created resource pushes how to remove it; on failure or
// cancellation the stack runs in reverse, shielded from cancellation so a cancelled deploy
// still cleans up after itself. An undo that fails is recorded and the rest still run.
// failDeploy is how both deploy runbooks end when a step fails: undo, then report.
import { ApplicationFailure, CancellationScope, isCancellation, log } from '@temporalio/workflow';
import { reasonOf } from './failures.js';
import type { ProgressTracker } from './progress.js';

interface Undo {
  description: string;
  run: () => Promise<unknown>;
}

export class Compensations {
  private readonly stack: Undo[] = [];

  push(description: string, run: () => Promise<unknown>): void {
    this.stack.push({ description, run });
  }

  /** Runs every undo, newest first; returns what was undone and what could not be. */
  async runAll(): Promise<{ undone: string[]; failed: string[] }> {
    const undone: string[] = [];
    const failed: string[] = [];
    await CancellationScope.nonCancellable(async () => {
      while (this.stack.length) {
        const undo = this.stack.pop()!;
        try {
          await undo.run();
          undone.push(undo.description);
        } catch (err) {
          log.error('Compensation step failed', { step: undo.description, error: reasonOf(err) });
          failed.push(`${undo.description} (${reasonOf(err)})`);
        }
      }
    });
    return { undone, failed };
  }
}

/**
 * A deploy's failure path: runs the undos (unless retainOnFailure), records the outcome in the
 * progress query, and throws the cancellation again or a DeployFailed naming step and reason.
 */
export async function failDeploy(
  err: unknown,
  { endpointName, retainOnFailure, progress, undo }: { endpointName: string; retainOnFailure: boolean; progress: ProgressTracker; undo: Compensations },
): Promise<never> {
  const cancelled = isCancellation(err);
  const reason = cancelled ? 'cancelled' : reasonOf(err);
  let cleanup = 'resources retained (retainOnFailure)';
  if (!retainOnFailure) {
    progress.compensating();
    const { undone, failed } = await undo.runAll();
    cleanup = [undone.length ? `rolled back: ${undone.join(', ')}` : 'nothing to roll back', failed.length ? `could not undo: ${failed.join(', ')}` : '']
      .filter(Boolean)
      .join('; ');
  }
  progress.finish(cancelled ? 'cancelled' : 'failed', `${reason} (${cleanup})`);
  if (cancelled) throw err;
  throw ApplicationFailure.create({
    message: `Deploy of endpoint ${endpointName} failed at step ${progress.snapshot().step}: ${reason} (${cleanup})`,
    type: 'DeployFailed',
    nonRetryable: true,
    details: [progress.snapshot()],
  });
}
