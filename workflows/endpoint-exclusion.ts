// A deploy and a teardown of one endpoint never run at once. Each run, after it has started,
// asks whether the other kind is running for its endpoint (workflow ids deploy-<name> and
// teardown-<name>) and fails clearly if so. Asking only after starting makes it safe: if two
// start together, at least the later one sees the earlier, so both may stop but never both go on.
import { ApplicationFailure } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

export async function refuseWhileRunning(controlPlane: Activities, otherWorkflowId: string, what: string): Promise<void> {
  const other = await controlPlane.runningWorkflow({ workflowId: otherWorkflowId });
  if (other.running) {
    throw ApplicationFailure.create({
      message: `${what} refused: workflow ${otherWorkflowId} (run ${other.runId}) is running for the same endpoint; wait for it to finish or cancel it, then start again`,
      type: 'EndpointWorkflowRunning',
      nonRetryable: true,
    });
  }
}
