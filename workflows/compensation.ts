// The saga's undo stack: each created resource pushes how to remove it; on failure or
// cancellation the stack runs in reverse, shielded from cancellation so a cancelled deploy
// still cleans up after itself. An undo that fails is recorded and the rest still run.
import { CancellationScope, log } from '@temporalio/workflow';
import { reasonOf } from './failures';

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
