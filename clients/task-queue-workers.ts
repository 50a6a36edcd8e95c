// Is any worker polling a task queue? Asked before the CLI starts a run, so that a missing worker
// (not started, or listening on another Temporal: the stack fell back to another port) is said
// plainly instead of a progress loop that waits forever. The answer is the server's own
// DescribeTaskQueue poller list.
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

// A CommonJS module: its namespaces come through the default export under ESM.
const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;

/** Workers long-poll for up to about a minute; a poller not seen for longer than this is gone. */
const POLLER_FRESH_MS = 90_000;

/** The identities of workers that polled `taskQueue` (workflow tasks) recently. */
export async function taskQueuePollers(client: Client, taskQueue: string): Promise<string[]> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  const now = Date.now();
  return (pollers ?? [])
    .filter((p) => {
      const seconds = Number(p.lastAccessTime?.seconds ?? 0);
      return seconds === 0 || now - seconds * 1000 < POLLER_FRESH_MS;
    })
    .map((p) => p.identity ?? '?');
}

/** No worker polled the task queue within the wait: the CLI exits 4 having started nothing. */
export class NoWorkerError extends Error {
  constructor(
    readonly taskQueue: string,
    readonly namespace: string,
    readonly address: string,
    waitedSeconds: number,
  ) {
    super(
      `No worker is polling task queue '${taskQueue}' (namespace ${namespace} at ${address}); waited ${waitedSeconds}s and started nothing. ` +
        `Start one (npm run stack:up, or npm run worker:${taskQueue === 'rag' ? 'rag' : 'control'}) or point --address/--profile at the Temporal your workers use.`,
    );
    this.name = 'NoWorkerError';
  }
}

/**
 * Returns once a worker polls `taskQueue`; says so through `print` when none does yet, and throws
 * NoWorkerError after `waitSeconds` without one. A wait of 0 skips the check.
 */
export async function waitForWorker(
  client: Client,
  taskQueue: string,
  { waitSeconds, address, print }: { waitSeconds: number; address: string; print: (line: string) => void },
): Promise<void> {
  if (waitSeconds <= 0) return;
  if ((await taskQueuePollers(client, taskQueue)).length) return;
  print(`No worker is polling task queue '${taskQueue}' yet (namespace ${client.options.namespace} at ${address}); waiting up to ${waitSeconds}s for one…`);
  const deadline = Date.now() + waitSeconds * 1000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    if ((await taskQueuePollers(client, taskQueue)).length) {
      print('A worker is polling now.');
      return;
    }
  }
  throw new NoWorkerError(taskQueue, client.options.namespace, address, waitSeconds);
}
