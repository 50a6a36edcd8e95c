// Time spent inside the activities, per workflow run: an activity interceptor that adds each
// execution's own duration (every attempt, local activities too) to its workflow id's total. The
// overhead bench subtracts it from the wall time a caller saw; what remains is orchestration.
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

export class StepTimer {
  private readonly byRun = new Map<string, Record<string, number>>();

  readonly interceptor: ActivityInterceptorsFactory = (ctx) => ({
    inbound: {
      execute: async (input, next) => {
        const { workflowExecution, activityType } = ctx.info;
        const runId = workflowExecution?.workflowId ?? '';
        const started = performance.now();
        try {
          return await next(input);
        } finally {
          const steps = this.byRun.get(runId) ?? {};
          steps[activityType] = (steps[activityType] ?? 0) + performance.now() - started;
          this.byRun.set(runId, steps);
        }
      },
    },
  });

  /** The steps of one run (milliseconds by activity type), forgotten once read. */
  take(workflowId: string): Record<string, number> {
    const steps = this.byRun.get(workflowId) ?? {};
    this.byRun.delete(workflowId);
    return steps;
  }
}
