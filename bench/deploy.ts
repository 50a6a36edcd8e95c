// Deploy figures on the embedded local cloud: time to InService and total deploy time for the
// tiny model with 1 and 2 instances, teardown time, and the history size of a deploy (which
// must not grow with the length of the wait). Prints a table; asserts nothing.
import { Command } from 'commander';
import type { DeployEndpointInput } from '../common/endpoint-input.js';
import { CONTROL_TASK_QUEUE } from '../common/task-queues.js';
import { readExample } from '../dev/tools.js';
import type { DeployEndpointResult } from '../workflows/deploy-endpoint.js';
import { benchWithStack } from './with-stack.js';
import { integerOption } from '../clients/integer-option.js';

const opts = new Command('bench-deploy').option('--runs <n>', 'deploys per configuration', integerOption(1), 3).parse().opts<{ runs: number }>();

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { p50: q(0.5), p95: q(0.95), min: s[0], max: s[s.length - 1] };
};

benchWithStack('deploy', async (client) => {
  const base = readExample<DeployEndpointInput>('deploy-local.json');
  const rows: string[] = [];
  for (const instances of [1, 2]) {
    const inService: number[] = [];
    const total: number[] = [];
    const teardown: number[] = [];
    const events: number[] = [];
    for (let run = 0; run < opts.runs; run++) {
      const endpointName = `bench-${instances}-${run}`;
      const input = {
        ...base,
        endpointName,
        variant: { ...base.variant, initialInstanceCount: instances },
        timeouts: { inServiceMinutes: 5, pollIntervalSeconds: 0.5 },
      };
      const started = performance.now();
      const handle = await client.workflow.start('deployEndpoint', { taskQueue: CONTROL_TASK_QUEUE, workflowId: `deploy-${endpointName}`, args: [input] });
      const result = (await handle.result()) as DeployEndpointResult;
      total.push(performance.now() - started);
      inService.push(result.timings.waitForInService + result.timings.createOrUpdateEndpoint);
      events.push((await handle.fetchHistory()).events?.length ?? 0);
      const t0 = performance.now();
      await client.workflow.execute('teardownEndpoint', {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId: `teardown-${endpointName}`,
        args: [{ endpointName, timeouts: { pollIntervalSeconds: 0.5 } }],
      });
      teardown.push(performance.now() - t0);
    }
    const fmt = (xs: number[]) => {
      const s = stats(xs);
      return `p50 ${(s.p50 / 1000).toFixed(2)} s  max ${(s.max / 1000).toFixed(2)} s`;
    };
    rows.push(
      `instances=${instances}  CreateEndpoint→InService: ${fmt(inService)} | whole deploy: ${fmt(total)} | teardown: ${fmt(teardown)} | history events: ${[...new Set(events)].join('/')}`,
    );
  }
  console.log(`deploy bench (${opts.runs} runs each, poll interval 0.5 s, tiny model ${base.model.hfModelId})`);
  for (const r of rows) console.log(`  ${r}`);
});
