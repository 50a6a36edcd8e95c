// The setup every workflow test file shares: one time-skipping test server for the file (started
// before its first test, stopped after its last) and, per test, a worker on a task queue of its
// own, so tests of one file never pick up each other's tasks.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll } from 'vitest';
import { timeSkippingEnv, workflowBundle } from './temporal.js';

export interface TimeSkippingSuite {
  /** The file's server. */
  readonly env: TestWorkflowEnvironment;
  /** Runs `body` while a worker with `activities` polls a fresh task queue (`n` numbers it within the file). */
  withWorker<T>(activities: object, body: (taskQueue: string, n: number) => Promise<T>): Promise<T>;
}

export function timeSkippingSuite(queuePrefix: string): TimeSkippingSuite {
  let env: TestWorkflowEnvironment | undefined;
  let queues = 0;
  beforeAll(async () => {
    env = await timeSkippingEnv();
    await workflowBundle();
  });
  afterAll(async () => {
    await env?.teardown();
  });
  const started = () => {
    if (!env) throw new Error('the time-skipping server is not started (use the suite inside tests)');
    return env;
  };
  return {
    get env() {
      return started();
    },
    async withWorker(activities, body) {
      const n = ++queues;
      const taskQueue = `${queuePrefix}-${n}`;
      const worker = await Worker.create({ connection: started().nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities });
      return worker.runUntil(body(taskQueue, n));
    },
  };
}
