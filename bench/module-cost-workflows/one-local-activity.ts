// One local activity that returns at once: the round trip between the workflow and the worker's
// activity side, and its marker in history (ragQuery's whole query is one).
import { proxyLocalActivities } from '@temporalio/workflow';

const { instant } = proxyLocalActivities<{ instant(): Promise<number> }>({ startToCloseTimeout: '10 seconds' });

export async function oneLocalActivity(): Promise<number> {
  return instant();
}
