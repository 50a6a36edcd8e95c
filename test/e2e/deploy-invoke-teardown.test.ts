// End to end: a real Temporal dev server, the control worker, the local cloud with moto and a
// real model process. deploy → invoke → stream → teardown → nothing left anywhere.
import { DescribeScalableTargetsCommand } from '@aws-sdk/client-application-auto-scaling';
import { ListEndpointConfigsCommand, ListEndpointsCommand, ListModelsCommand } from '@aws-sdk/client-sagemaker';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntimeActivities, streamGenerate } from '../../activities/runtime.js';
import type { DeployEndpointInput } from '../../common/endpoint-input.js';
import { CONTROL_TASK_QUEUE } from '../../common/task-queues.js';
import { readExample } from '../../dev/tools.js';
import type { DeployEndpointResult } from '../../workflows/deploy-endpoint.js';
import type { TeardownEndpointResult } from '../../workflows/teardown-endpoint.js';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';

let stack: E2eStack;
let env: E2eStack['env'];
let sagemaker: E2eStack['sagemaker'];
let runtime: E2eStack['runtime'];
let autoscaling: E2eStack['autoscaling'];

beforeAll(async () => {
  stack = await startE2eStack();
  ({ env, sagemaker, runtime, autoscaling } = stack);
});
afterAll(() => stack?.stop());

const deployInput = (): DeployEndpointInput => {
  const input = readExample<DeployEndpointInput>('deploy-local.json');
  return { ...input, endpointName: 'e2e', variant: { ...input.variant, initialInstanceCount: 2 } };
};

async function leftovers() {
  const [endpoints, configs, models, targets] = await Promise.all([
    sagemaker.send(new ListEndpointsCommand({})),
    sagemaker.send(new ListEndpointConfigsCommand({})),
    sagemaker.send(new ListModelsCommand({})),
    autoscaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'sagemaker' })),
  ]);
  return {
    endpoints: endpoints.Endpoints ?? [],
    configs: configs.EndpointConfigs ?? [],
    models: models.Models ?? [],
    targets: targets.ScalableTargets ?? [],
  };
}

describe('deploy → invoke → stream → teardown on the local cloud', () => {
  it('runs the whole lifecycle and leaves nothing behind', async () => {
    const deployed: DeployEndpointResult = await env.client.workflow.execute('deployEndpoint', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'deploy-e2e',
      args: [deployInput()],
    });
    expect(deployed.action).toBe('created');
    expect(deployed.endpointArn).toBe('arn:aws:sagemaker:us-east-1:123456789012:endpoint/e2e');
    expect(deployed.smokeTest?.generatedText.length).toBeGreaterThan(0);

    // The endpoint really is up, with two instances, and autoscaling is registered for it.
    const targets = (await leftovers()).targets;
    expect(targets.map((t) => [t.ResourceId, t.MinCapacity, t.MaxCapacity])).toEqual([['endpoint/e2e/variant/AllTraffic', 1, 2]]);

    const invoked = await createRuntimeActivities({ runtime }).invokeEndpoint({
      endpointName: 'e2e',
      inputs: 'Once upon a time',
      parameters: { max_new_tokens: 24, do_sample: false },
    });
    expect(invoked.generatedText.trim().length).toBeGreaterThan(0);
    expect(invoked.invokedVariant).toBe('AllTraffic');

    const tokens: string[] = [];
    const streamed = await streamGenerate(
      runtime,
      { endpointName: 'e2e', inputs: 'Once upon a time', parameters: { max_new_tokens: 24, do_sample: false } },
      (t) => tokens.push(t),
    );
    expect(tokens.length).toBeGreaterThan(1);
    expect(tokens.join('')).toBe(streamed.generatedText);
    // Greedy decoding: streaming and plain invocation produce the same text.
    expect(streamed.generatedText).toBe(invoked.generatedText);

    // A second identical deploy is harmless and reports no change.
    const again: DeployEndpointResult = await env.client.workflow.execute('deployEndpoint', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'deploy-e2e-again',
      args: [deployInput()],
    });
    expect(again.action).toBe('unchanged');

    const torn: TeardownEndpointResult = await env.client.workflow.execute('teardownEndpoint', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'teardown-e2e',
      args: [{ endpointName: 'e2e' }],
    });
    expect(torn.endpointDeleted).toBe(true);
    expect(torn.deregisteredScalableTargets).toEqual(['endpoint/e2e/variant/AllTraffic']);
    expect(await leftovers()).toEqual({ endpoints: [], configs: [], models: [], targets: [] });

    // Searchable by endpoint in the Web UI / CLI.
    const runs: string[] = [];
    for await (const wf of env.client.workflow.list({ query: `EndpointName = "e2e"` })) runs.push(wf.workflowId);
    expect(runs.sort()).toEqual(['deploy-e2e', 'deploy-e2e-again', 'teardown-e2e']);
  });

  it('a deploy whose model cannot be found fails with the FailureReason and rolls back', async () => {
    const input = deployInput();
    const err = await env.client.workflow
      .execute('deployEndpoint', {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId: 'deploy-missing-model',
        args: [{ ...input, endpointName: 'e2e-missing', model: { ...input.model, hfModelId: 'nobody/no-such-model' } }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const message = (err as WorkflowFailedError).cause?.message ?? '';
    expect(message).toContain('failed at step waitForInService: Endpoint e2e-missing failed:');
    expect(message).toContain('nobody/no-such-model');
    expect(message).toMatch(/rolled back: delete endpoint e2e-missing, delete endpoint config e2e-missing-c-\w+, delete model e2e-missing-m-\w+/);
    expect(await leftovers()).toEqual({ endpoints: [], configs: [], models: [], targets: [] });
  });
});
