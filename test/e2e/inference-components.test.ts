// End to end for inference components: a real Temporal dev server, the control worker, the local
// cloud with moto and real model processes (one per copy). deployEndpoint of an IC endpoint with
// one component of two copies → invocations through the SDK spread over both copies (the local
// cloud's X-Local-Cloud-Copy header names the copy that served) → a stream through the component
// → `llmops invoke --component` as a user types it, and without --component the AWS refusal →
// teardownEndpoint → nothing left: components, endpoint, configs, models, scalable targets, policies.
import { DescribeScalableTargetsCommand, DescribeScalingPoliciesCommand } from '@aws-sdk/client-application-auto-scaling';
import { ListEndpointConfigsCommand, ListEndpointsCommand, ListInferenceComponentsCommand, ListModelsCommand } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntimeActivities, streamGenerate } from '../../activities/runtime.js';
import type { InferenceComponentsDeployInput } from '../../common/endpoint-input.js';
import { projectRoot } from '../../common/project-paths.js';
import { CONTROL_TASK_QUEUE } from '../../common/task-queues.js';
import { readExample } from '../../dev/tools.js';
import type { InferenceComponentsDeployResult } from '../../workflows/deploy-inference-components.js';
import type { TeardownEndpointResult } from '../../workflows/teardown-endpoint.js';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';

const ENDPOINT = 'e2e-ic';
const COMPONENT = 'e2e-ic-llm';
const GREEDY = { max_new_tokens: 16, do_sample: false };

let stack: E2eStack;

beforeAll(async () => {
  stack = await startE2eStack();
});
afterAll(() => stack?.stop());

/** The example IC deploy, renamed: one component of two copies, autoscaling on invocations per copy. */
function deployInput(): InferenceComponentsDeployInput {
  const input = readExample<InferenceComponentsDeployInput>('deploy-local-ic.json');
  const [component] = input.components;
  return {
    ...input,
    endpointName: ENDPOINT,
    components: [{ ...component, name: COMPONENT, copyCount: 2 }],
    timeouts: { inServiceMinutes: 5, pollIntervalSeconds: 0.5 },
  };
}

/** A runtime client that records the X-Local-Cloud-Copy header of every response it reads. */
function copyRecordingRuntime(): { runtime: SageMakerRuntimeClient; servedBy: string[] } {
  const servedBy: string[] = [];
  const runtime = new SageMakerRuntimeClient({ region: 'us-east-1', endpoint: stack.cloudUrl, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  runtime.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const headers = (out.response as { headers?: Record<string, string> }).headers ?? {};
      const copy = Object.entries(headers).find(([name]) => name.toLowerCase() === 'x-local-cloud-copy')?.[1];
      if (copy) servedBy.push(copy);
      return out;
    },
    { step: 'deserialize', name: 'recordServingCopy' },
  );
  return { runtime, servedBy };
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** bin/llmops.js as a user's shell runs it, with the standard AWS variables pointing at the local cloud. */
function llmops(args: string[]): Promise<CliRun> {
  const child = spawn(process.execPath, [join(projectRoot, 'bin', 'llmops.js'), ...args], {
    cwd: projectRoot,
    env: { ...process.env, AWS_ENDPOINT_URL: stack.cloudUrl, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
  });
  const run = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (run.stderr += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, ...run })));
}

async function leftovers() {
  const { sagemaker, autoscaling } = stack;
  const [components, endpoints, configs, models, targets, policies] = await Promise.all([
    sagemaker.send(new ListInferenceComponentsCommand({})),
    sagemaker.send(new ListEndpointsCommand({})),
    sagemaker.send(new ListEndpointConfigsCommand({})),
    sagemaker.send(new ListModelsCommand({})),
    autoscaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'sagemaker' })),
    autoscaling.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'sagemaker' })),
  ]);
  return {
    components: (components.InferenceComponents ?? []).map((c) => c.InferenceComponentName),
    endpoints: (endpoints.Endpoints ?? []).map((e) => e.EndpointName),
    configs: (configs.EndpointConfigs ?? []).map((c) => c.EndpointConfigName),
    models: (models.Models ?? []).map((m) => m.ModelName),
    targets: (targets.ScalableTargets ?? []).map((t) => t.ResourceId),
    policies: (policies.ScalingPolicies ?? []).map((p) => p.PolicyName),
  };
}

describe('inference components end to end on the local cloud', () => {
  it('deploys a component of two copies, spreads invocations over both, streams, and tears down to nothing', async () => {
    const deployed: InferenceComponentsDeployResult = await stack.env.client.workflow.execute('deployEndpoint', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: `deploy-${ENDPOINT}`,
      args: [deployInput()],
    });
    expect(deployed.endpointType).toBe('inferenceComponents');
    expect(deployed.action).toBe('created');
    expect(deployed.components.map((c) => [c.name, c.action, c.copies.current])).toEqual([[COMPONENT, 'created', 2]]);
    expect(deployed.components[0].smokeTest?.generatedText.length).toBeGreaterThan(0);

    // Both copies registered for scaling, as AWS names the dimension.
    const during = await leftovers();
    expect(during.components).toEqual([COMPONENT]);
    expect(during.targets).toEqual([`inference-component/${COMPONENT}`]);
    expect(during.policies).toHaveLength(1);

    // Ten invocations through the SDK: least outstanding requests takes idle copies in turn.
    const { runtime, servedBy } = copyRecordingRuntime();
    const invoke = createRuntimeActivities({ runtime }).invokeEndpoint;
    const answers: string[] = [];
    for (let i = 0; i < 10; i++) {
      const out = await invoke({ endpointName: ENDPOINT, inferenceComponentName: COMPONENT, inputs: 'Once upon a time', parameters: GREEDY });
      expect(out.invokedVariant).toBe('AllTraffic');
      answers.push(out.generatedText);
    }
    expect(servedBy).toHaveLength(10);
    expect(new Set(servedBy).size).toBe(2);
    // Two copies of one model, decoding greedily: the same answer whichever served.
    expect(new Set(answers).size).toBe(1);

    // Without the component AWS refuses an IC endpoint's invocation.
    await expect(invoke({ endpointName: ENDPOINT, inputs: 'Once upon a time', parameters: GREEDY })).rejects.toThrow(
      /ValidationError: Inference Component Name header is required/,
    );

    // Streaming through the component gives the same text token by token.
    const tokens: string[] = [];
    const streamed = await streamGenerate(
      runtime,
      { endpointName: ENDPOINT, inferenceComponentName: COMPONENT, inputs: 'Once upon a time', parameters: GREEDY },
      (t) => tokens.push(t),
    );
    expect(tokens.length).toBeGreaterThan(1);
    expect(tokens.join('')).toBe(streamed.generatedText);
    expect(streamed.generatedText).toBe(answers[0]);
    expect(servedBy).toHaveLength(11);

    // The CLI as the README has it; without --component it is bad input (exit 2) naming the component to pass.
    const cli = await llmops(['--json', 'invoke', ENDPOINT, 'Once upon a time', '--component', COMPONENT, '--stream', '--max-new-tokens', '8']);
    expect(cli.stderr).not.toMatch(/Error/);
    expect(cli.code).toBe(0);
    const cliResult = JSON.parse(cli.stdout) as { generatedText: string; tokens: number };
    expect(cliResult.tokens).toBeGreaterThan(0);
    expect(cliResult.generatedText.length).toBeGreaterThan(0);
    const refused = await llmops(['invoke', ENDPOINT, 'Once upon a time']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Inference Component Name header is required');
    expect(refused.stderr).toContain(`pass --component with one of: ${COMPONENT}`);

    const torn: TeardownEndpointResult = await stack.env.client.workflow.execute('teardownEndpoint', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: `teardown-${ENDPOINT}`,
      args: [{ endpointName: ENDPOINT, timeouts: { pollIntervalSeconds: 0.5 } }],
    });
    expect(torn.endpointDeleted).toBe(true);
    expect(torn.deletedInferenceComponents).toEqual([COMPONENT]);
    expect(torn.deregisteredScalableTargets).toEqual([`inference-component/${COMPONENT}`]);
    expect(await leftovers()).toEqual({ components: [], endpoints: [], configs: [], models: [], targets: [], policies: [] });
  });
});
