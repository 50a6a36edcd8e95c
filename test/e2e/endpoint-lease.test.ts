// The idle guard for real: the lease's activities against the local cloud (a real endpoint with
// a model process, CloudWatch served by moto), and the endpointLease workflow on the
// time-skipping server with those real activities, tearing an idle endpoint down through the
// real teardownEndpoint workflow. Datapoints are put with PutMetricData here because the local
// cloud does not publish SageMaker's metrics itself yet (issue 11, "Metrics").
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { ListEndpointsCommand, ListModelsCommand } from '@aws-sdk/client-sagemaker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseWorkflowId } from '../../common/lease-input.js';
import type { EndpointLeaseResult } from '../../workflows/endpoint-lease.js';
import { deployTinyEndpoint, failureOf, startActivityCloud, type ActivityCloud } from '../activities/support.js';
import { timeSkippingEnv, workflowBundle } from '../support/temporal.js';

let ac: ActivityCloud;
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  [ac, env] = await Promise.all([startActivityCloud(), timeSkippingEnv()]);
  await deployTinyEndpoint(ac.activities, 'leased');
}, 300_000);
afterAll(async () => {
  await env?.teardown();
  await ac?.close();
});

const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000);

describe('the lease activities on the local cloud', () => {
  it('endpointInvocations sums the variant Invocations in the window and says when the last one was', async () => {
    await ac.clients.cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: 'AWS/SageMaker',
        MetricData: [7, 4].map((n) => ({
          MetricName: 'Invocations',
          Dimensions: [
            { Name: 'EndpointName', Value: 'leased' },
            { Name: 'VariantName', Value: 'AllTraffic' },
          ],
          Timestamp: minutesAgo(n),
          Value: n,
          Unit: 'None',
        })),
      }),
    );
    const seen = await ac.activities.endpointInvocations({ endpointName: 'leased', since: minutesAgo(30).toISOString(), until: new Date().toISOString() });
    expect(seen).toMatchObject({ endpointExists: true, status: 'InService', invocations: 11 });
    // The end of the minute the newest datapoint (4 minutes ago) falls in.
    const last = Date.parse(seen.lastInvocationAt!);
    expect(last).toBeGreaterThan(minutesAgo(5).getTime());
    expect(last).toBeLessThanOrEqual(Date.now());

    const before = await ac.activities.endpointInvocations({
      endpointName: 'leased',
      since: minutesAgo(60).toISOString(),
      until: minutesAgo(20).toISOString(),
    });
    expect(before).toMatchObject({ endpointExists: true, invocations: 0 });
    expect(before.lastInvocationAt).toBeUndefined();

    expect(await ac.activities.endpointInvocations({ endpointName: 'no-such', since: minutesAgo(5).toISOString(), until: new Date().toISOString() })).toEqual({
      endpointExists: false,
      invocations: 0,
    });
  });

  it('scaleEndpointToZero refuses a model-based variant, naming it, and changes nothing', async () => {
    const failure = await failureOf(ac.activities.scaleEndpointToZero({ endpointName: 'leased' }));
    expect(failure.type).toBe('ScaleToZeroUnsupported');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/variant AllTraffic serves a model directly/);
  });
});

describe('endpointLease with real activities', () => {
  it('tears an idle endpoint down through teardownEndpoint, and leaves nothing', async () => {
    const taskQueue = 'lease-e2e';
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: ac.activities });
    const result = (await worker.runUntil(
      env.client.workflow.execute('endpointLease', {
        taskQueue,
        workflowId: leaseWorkflowId('leased'),
        args: [{ endpointName: 'leased', idle: { afterMinutes: 5, action: 'teardown' }, checkIntervalMinutes: 1 }],
      }),
    )) as EndpointLeaseResult;
    expect(result).toMatchObject({ outcome: 'tornDown', status: { state: 'ended' } });
    // A check each minute, and one at the warning time (half a minute before the deadline).
    expect(result.status.checks).toBe(6);
    const [endpoints, models] = await Promise.all([
      ac.clients.sagemaker.send(new ListEndpointsCommand({})),
      ac.clients.sagemaker.send(new ListModelsCommand({})),
    ]);
    expect(endpoints.Endpoints ?? []).toEqual([]);
    expect(models.Models ?? []).toEqual([]);
  });
});
