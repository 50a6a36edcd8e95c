// Deploy figures on the embedded local cloud: time to InService and total deploy time for the
// tiny model with 1 and 2 instances, teardown time, and the history size of a deploy (which
// must not grow with the length of the wait). Prints and writes a table (bench/report.ts);
// asserts nothing.
import { Command } from 'commander';
import type { DeployEndpointInput } from '../common/endpoint-input.js';
import { CONTROL_TASK_QUEUE } from '../common/task-queues.js';
import { readExample } from '../dev/tools.js';
import type { DeployEndpointResult } from '../workflows/deploy-endpoint.js';
import { publishBench } from './report.js';
import { percentile } from './stats.js';
import { benchWithStack } from './with-stack.js';
import { integerOption } from '../clients/integer-option.js';

const opts = new Command('bench-deploy').option('--runs <n>', 'deploys per configuration', integerOption(1), 3).parse().opts<{ runs: number }>();

const seconds = (xs: number[], p: number) => (percentile(xs, p) / 1000).toFixed(2);

benchWithStack('deploy', async (client) => {
  const base = readExample<DeployEndpointInput>('deploy-local.json');
  const rows: string[][] = [];
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
    rows.push([
      String(instances),
      seconds(inService, 50),
      seconds(inService, 100),
      seconds(total, 50),
      seconds(total, 100),
      seconds(teardown, 50),
      seconds(teardown, 100),
      [...new Set(events)].join(' / '),
    ]);
  }
  publishBench('deploy', {
    title: 'Deploy and teardown on the local cloud',
    method: `bench/deploy.ts: ${opts.runs} deploys per instance count of ${base.model.hfModelId} from examples/deploy-local.json (poll interval 0.5 s), each torn down after; time to InService = the CreateEndpoint step and its wait; embedded stack.`,
    columns: ['instances', 'CreateEndpoint → InService p50 s', 'max s', 'whole deploy p50 s', 'max s', 'teardown p50 s', 'max s', 'history events'],
    rows,
  });
});
