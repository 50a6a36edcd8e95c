// The idle guard on an inference-component endpoint, on the time-skipping test server with the
// in-memory activities (fake-activities.ts): the deploy starts the lease, a day without traffic
// puts every component at 0 copies, teardown ends the lease. In a file of its own, with its own
// test server: after a lease started as an abandoned child of a finished deploy had ended, the
// shared test server no longer skipped time (seen here, cause not pinned down), so every later
// test in deploy-inference-components.test.ts ran its timers in real time.
import { describe, expect, it } from 'vitest';
import type { InferenceComponentsDeployInput } from '../../common/endpoint-input.js';
import { leaseWorkflowId } from '../../common/lease-input.js';
import type { EndpointLeaseResult, LeaseStatus } from '../../workflows/endpoint-lease.js';
import type { Progress } from '../../workflows/progress.js';
import { timeSkippingSuite } from '../support/time-skipping-suite.js';
import { createFakeCloud } from './fake-activities.js';

const HOUR = 3600_000;
const suite = timeSkippingSuite('ic-lease-test');

const model = (hfModelId: string) => ({ image: 'huggingface-pytorch-tgi-inference:local', hfModelId, numGpus: 0 });
const input: InferenceComponentsDeployInput = {
  endpointType: 'inferenceComponents',
  endpointName: 'leased-ic',
  variant: { instanceType: 'ml.m5.xlarge', managedInstanceScaling: { minInstanceCount: 0, maxInstanceCount: 2 } },
  components: [
    {
      name: 'leased-llm',
      model: model('ggml-org/tiny-llamas'),
      compute: { numberOfCpuCoresRequired: 1, minMemoryRequiredInMb: 1024 },
      copyCount: 2,
      autoscaling: { minCopies: 0, maxCopies: 4, targetValue: 5 },
    },
    { name: 'leased-small', model: model('ggml-org/models'), compute: { numberOfCpuCoresRequired: 1, minMemoryRequiredInMb: 512 }, copyCount: 1 },
  ],
  idle: { afterMinutes: 24 * 60, action: 'scaleToZero' },
  checkIntervalMinutes: 6 * 60,
  timeouts: { inServiceMinutes: 60, pollIntervalSeconds: 10 },
};

describe('the idle guard of an inference-component endpoint', () => {
  it('the deploy starts the lease; an idle day puts every component at 0 copies; teardown ends the lease', async () => {
    const cloud = createFakeCloud();
    await suite.withWorker(cloud.activities, async (taskQueue) => {
      const deploy = await suite.env.client.workflow.start('deployEndpoint', { taskQueue, workflowId: 'deploy-leased-ic', args: [input] });
      await deploy.result();
      const steps = (await deploy.query<Progress>('progress')).steps.map((s) => [s.name, s.outcome]);
      expect(steps.at(-1)).toEqual(['startLease', 'ok']);
      const lease = suite.env.client.workflow.getHandle(leaseWorkflowId('leased-ic'));
      expect(await lease.query<LeaseStatus>('lease')).toMatchObject({ state: 'active', cause: 'idle', action: 'scaleToZero' });
      expect([...cloud.components.values()].map((c) => c.desiredCopies)).toEqual([2, 1]);

      await suite.env.sleep(30 * HOUR);
      expect([...cloud.components.values()].map((c) => [c.desiredCopies, c.currentCopies])).toEqual([
        [0, 0],
        [0, 0],
      ]);
      expect(cloud.calls.filter((c) => c.startsWith('scaleEndpointToZero'))).toEqual(['scaleEndpointToZero leased-ic']);
      const after = await lease.query<LeaseStatus>('lease');
      expect(after.lastAction).toMatch(/scaled to zero \(no invocations for 1440 minutes\): leased-llm, leased-small$/);
      expect(after.state).toBe('active'); // still guarding: the idle window restarts from the action

      await suite.env.client.workflow.execute('teardownEndpoint', { taskQueue, workflowId: 'teardown-leased-ic', args: [{ endpointName: 'leased-ic' }] });
      const ended = (await lease.result()) as EndpointLeaseResult;
      expect(ended).toMatchObject({ outcome: 'ended', reason: 'torn down by teardown-leased-ic' });
      expect(cloud.components.size + cloud.endpoints.size + cloud.targets.size).toBe(0);
    });
  });
});
