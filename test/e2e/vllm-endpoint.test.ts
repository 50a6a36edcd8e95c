// End to end with a vLLM image URI: the deploy workflow creates the endpoint on the local cloud,
// which starts its vLLM stand-in (OpenAI-compatible /invocations); the smoke test, InvokeEndpoint
// and InvokeEndpointWithResponseStream all speak the vllm-completions format the image implies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntimeActivities, streamGenerate } from '../../activities/runtime.js';
import type { DeployEndpointInput } from '../../common/endpoint-input.js';
import { CONTROL_TASK_QUEUE } from '../../common/task-queues.js';
import { readExample } from '../../dev/tools.js';
import type { DeployEndpointResult } from '../../workflows/deploy-endpoint.js';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';

const VLLM_IMAGE = '763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-vllm-inference:0.8.5';

let stack: E2eStack;
beforeAll(async () => {
  stack = await startE2eStack();
});
afterAll(() => stack?.stop());

describe('a vLLM endpoint on the local cloud', () => {
  it('deploys, answers InvokeEndpoint and streams with the vLLM format, then tears down', async () => {
    const example = readExample<DeployEndpointInput>('deploy-local.json');
    const input: DeployEndpointInput = { ...example, endpointName: 'e2e-vllm', model: { ...example.model, image: VLLM_IMAGE }, autoscaling: undefined };
    const deployed: DeployEndpointResult = await stack.env.client.workflow.execute('deployEndpoint', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'deploy-e2e-vllm',
      args: [input],
    });
    // The smoke test went through as a text completion: a TGI body would have been a 400.
    expect(deployed.smokeTest?.generatedText.length).toBeGreaterThan(0);

    const request = { endpointName: 'e2e-vllm', inputs: 'Once upon a time', parameters: { max_new_tokens: 16 }, format: 'vllm-completions' as const };
    const invoked = await createRuntimeActivities({ runtime: stack.runtime }).invokeEndpoint(request);
    expect(invoked.generatedText.trim().length).toBeGreaterThan(0);
    const tokens: string[] = [];
    const streamed = await streamGenerate(stack.runtime, request, (t) => tokens.push(t));
    expect(tokens.length).toBeGreaterThan(1);
    // Greedy (temperature 0): the stream, ended by data: [DONE], says what the plain call said.
    expect(tokens.join('')).toBe(invoked.generatedText);

    // The wrong format is vLLM's own refusal, passed on by SageMaker Runtime.
    await expect(createRuntimeActivities({ runtime: stack.runtime }).invokeEndpoint({ ...request, format: 'tgi' })).rejects.toThrow(
      /Cannot find suitable handler/,
    );

    await stack.env.client.workflow.execute('teardownEndpoint', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'teardown-e2e-vllm',
      args: [{ endpointName: 'e2e-vllm' }],
    });
  });
});
