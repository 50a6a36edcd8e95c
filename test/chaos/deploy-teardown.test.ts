// Chaos: the control worker, a separate process, is SIGKILLed at every step of a deploy and
// then of a teardown, and started again each time. Both must still complete, create nothing
// twice and leave nothing behind (issue 9, "crash recovery in seconds"; bench/recovery.ts
// prints how long each kill cost).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployEndpointInput } from '../../common/endpoint-input.js';
import { CONTROL_TASK_QUEUE } from '../../common/task-queues.js';
import { readExample } from '../../dev/tools.js';
import type { DeployEndpointResult } from '../../workflows/deploy-endpoint.js';
import type { TeardownEndpointResult } from '../../workflows/teardown-endpoint.js';
import { DEPLOY_STEPS, killAtEachStep, startChaosStack, TEARDOWN_STEPS, type ChaosStack } from './worker-chaos.js';

let stack: ChaosStack;
beforeAll(async () => {
  stack = await startChaosStack();
});
afterAll(() => stack?.stop());

const input = (): DeployEndpointInput => {
  const example = readExample<DeployEndpointInput>('deploy-local.json');
  return {
    ...example,
    endpointName: 'chaos',
    timeouts: { inServiceMinutes: 5, pollIntervalSeconds: 0.5 },
    smokeTest: { prompt: 'Once upon a time', maxNewTokens: 8 },
  };
};

describe('SIGKILL of the control worker at every step', () => {
  it('deploy and teardown still complete, with no duplicate and no orphan', { timeout: 600_000 }, async () => {
    let worker = await stack.startWorker();
    const deploy = await stack.env.client.workflow.start('deployEndpoint', { taskQueue: CONTROL_TASK_QUEUE, workflowId: 'deploy-chaos', args: [input()] });
    const deployed = await killAtEachStep(stack, deploy, DEPLOY_STEPS, worker);
    worker = deployed.worker;
    const result = (await deploy.result()) as DeployEndpointResult;
    console.table(deployed.records);
    expect(result.action).toBe('created');
    expect(result.smokeTest?.generatedText.length).toBeGreaterThan(0);
    expect(await stack.leftovers('chaos')).toEqual({
      endpoints: ['chaos (InService)'],
      configs: [result.endpointConfigName],
      models: [result.modelName],
      targets: ['endpoint/chaos/variant/AllTraffic'],
    });

    const teardown = await stack.env.client.workflow.start('teardownEndpoint', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'teardown-chaos',
      args: [{ endpointName: 'chaos', timeouts: { deletedMinutes: 5, pollIntervalSeconds: 0.5 } }],
    });
    const tornDown = await killAtEachStep(stack, teardown, TEARDOWN_STEPS, worker);
    const removed = (await teardown.result()) as TeardownEndpointResult;
    console.table(tornDown.records);
    expect(removed.deletedModels).toEqual([result.modelName]);
    expect(await stack.leftovers('chaos')).toEqual({ endpoints: [], configs: [], models: [], targets: [] });
    // Nearly every step is hit (one quicker than a describe round trip may slip by).
    expect([...deployed.records, ...tornDown.records].filter((r) => !r.missed).length).toBeGreaterThanOrEqual(10);
    await tornDown.worker.stop('SIGKILL');
  });
});
