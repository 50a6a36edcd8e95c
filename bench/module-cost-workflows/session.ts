// One long-lived run answering Updates: the "session workflow" lever for per-request work. Each
// Update reaches a run the worker already holds in its cache, so nothing is evaluated again and
// no run starts or completes; what is left is the Update's own round trip through the server.
import { condition, defineUpdate, proxyLocalActivities, setHandler } from '@temporalio/workflow';

const { instant } = proxyLocalActivities<{ instant(): Promise<number> }>({ startToCloseTimeout: '10 seconds' });

export const ask = defineUpdate<number>('ask');
export const askThroughLocalActivity = defineUpdate<number>('askThroughLocalActivity');

export async function session(): Promise<void> {
  setHandler(ask, () => 0);
  setHandler(askThroughLocalActivity, () => instant());
  await condition(() => false);
}
