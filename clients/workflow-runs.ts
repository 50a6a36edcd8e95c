// Starting the workflows from code, with live progress: the `progress` query gives
// the step, and the pending activity's last failure says what AWS reported on the last poll
// ("Endpoint demo is Creating"), which is what a person watching a long wait wants to see.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { CONTROL_TASK_QUEUE } from '../common/task-queues';
import type { DeployEndpointInput, TeardownEndpointInput } from '../common/endpoint-input';
import type { DeployEndpointResult } from '../workflows/deploy-endpoint';
import type { Progress } from '../workflows/progress';
import type { TeardownEndpointResult } from '../workflows/teardown-endpoint';

export type ProgressLine = (line: string) => void;

/** Prints each new step and, during waits, the latest poll outcome; stops when `done` settles. */
async function follow(handle: WorkflowHandle, print: ProgressLine, done: Promise<unknown>): Promise<void> {
  let settled = false;
  void done.finally(() => (settled = true)).catch(() => {});
  let lastLine = '';
  // The query's elapsedSeconds is workflow time, which only moves when the workflow does
  // (not during a long poll); a person watching wants wall-clock time.
  const started = Date.now();
  while (!settled) {
    try {
      const progress = await handle.query<Progress>('progress');
      const desc = await handle.describe();
      const pending = desc.raw.pendingActivities?.[0];
      const poll = pending?.lastFailure?.message ? ` — ${pending.lastFailure.message} (poll ${pending.attempt})` : '';
      const line = `[${Math.round((Date.now() - started) / 1000)}s] ${progress.status === 'compensating' ? 'rolling back' : progress.step}${poll}`;
      if (line.replace(/^\[\d+s\] /, '') !== lastLine.replace(/^\[\d+s\] /, '')) print(line);
      lastLine = line;
    } catch {
      // The first workflow task may not have run yet; queries fail until it has.
    }
    await Promise.race([done.catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
  }
}

/** Starts `workflowType` with `workflowId`, follows its progress, returns its result. */
export async function runWorkflow<T>(
  client: Client,
  workflowType: string,
  workflowId: string,
  input: unknown,
  print: ProgressLine = () => {},
  taskQueue: string = CONTROL_TASK_QUEUE,
): Promise<T> {
  const handle = await client.workflow.start(workflowType, {
    taskQueue,
    workflowId,
    args: [input],
    // A second start of the same run while it is going attaches to it instead of failing.
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  const result = handle.result() as Promise<T>;
  await follow(handle, print, result);
  return result;
}

export const runDeploy = (client: Client, input: DeployEndpointInput, print?: ProgressLine) =>
  runWorkflow<DeployEndpointResult>(client, 'deployEndpoint', `deploy-${input.endpointName}`, input, print);

export const runTeardown = (client: Client, input: TeardownEndpointInput, print?: ProgressLine) =>
  runWorkflow<TeardownEndpointResult>(client, 'teardownEndpoint', `teardown-${input.endpointName}`, input, print);
