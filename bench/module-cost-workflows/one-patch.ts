// One patch marker and nothing else: what a patched() call adds to a new run (ragQuery has one).
import { patched } from '@temporalio/workflow';

export async function onePatch(): Promise<boolean> {
  return patched('bench-patch');
}
