// Which workflow runs are going on, read through the worker's own Temporal client: how a
// deploy and a teardown of one endpoint keep out of each other's way. Each run, once started,
// asks whether the other kind is running for the same endpoint and stops if it is. Because each
// asks only after it has itself started, two runs can both stop but never both carry on.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';

export interface RunningWorkflow {
  running: boolean;
  runId?: string;
  workflowType?: string;
}

export function createWorkflowRunActivities() {
  return {
    async runningWorkflow({ workflowId }: { workflowId: string }): Promise<RunningWorkflow> {
      try {
        const run = await Context.current().client.workflow.getHandle(workflowId).describe();
        return run.status.name === 'RUNNING' ? { running: true, runId: run.runId, workflowType: run.type } : { running: false };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { running: false };
        throw err;
      }
    },
  };
}
