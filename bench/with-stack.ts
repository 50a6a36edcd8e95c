// What every stack-level bench does around its measurements: a fresh embedded stack (Temporal,
// local cloud, workers) in a temporary directory on free ports, a client, and a clean exit.
import type { Client } from '@temporalio/client';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack } from '../clients/embedded-stack.js';
import { connectClient } from '../clients/temporal-client.js';
import { localTemporalConnection } from '../common/temporal-connection.js';

export function benchWithStack(name: string, run: (client: Client, dir: string) => Promise<void>): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.env.LLMOPS_LOG_LEVEL ??= 'warn';
  const main = async () => {
    const dir = mkdtempSync(join(tmpdir(), `llmops-bench-${name}-`));
    const stack = await startStack({ stateDir: join(dir, 'stack'), temporalPort: 0, uiPort: 0, awsPort: 0 });
    try {
      await run(await connectClient(localTemporalConnection(stack.temporalAddress)), dir);
    } finally {
      await stack.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  };
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
