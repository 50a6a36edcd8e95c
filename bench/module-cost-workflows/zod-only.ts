// Imports zod and builds no schema: what evaluating the library itself costs each workflow run.
import { z } from 'zod';

export async function zodOnly(): Promise<boolean> {
  return typeof z.string === 'function';
}
