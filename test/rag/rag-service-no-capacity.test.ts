// The RAG service while an inference component has no copy (scaled to zero): a real Temporal
// dev server, the real deployEndpoint workflow putting examples/deploy-local-ic-autoscale.json on
// the real local cloud (without its autoscaling, so nothing wakes the component during the
// test), the component set to 0 copies, and a ragQuery (fixtures/rag-invoke-workflows.ts) whose
// generate step is the real invokeEndpoint activity. SageMaker's no-capacity refusal must reach
// the caller as 503 with Retry-After, and once a copy serves again the same query is answered.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DescribeInferenceComponentCommand, UpdateInferenceComponentRuntimeConfigCommand } from '@aws-sdk/client-sagemaker';
import { Worker } from '@temporalio/worker';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntimeActivities } from '../../activities/runtime.js';
import type { InferenceComponentsDeployInput } from '../../common/endpoint-input.js';
import { CONTROL_TASK_QUEUE } from '../../common/task-queues.js';
import { startRagService, type RagService } from '../../clients/rag-service/server.js';
import { readExample } from '../../dev/tools.js';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';

const example = readExample<InferenceComponentsDeployInput>('deploy-local-ic-autoscale.json');
const EP = 'rag-zero';
const COMPONENT = `${EP}-llm`;
const KEY = 'zero-key-0123456789abcdef';
const TASK_QUEUE = `rag-no-capacity-${randomUUID()}`;

let stack: E2eStack;
let worker: Worker;
let workerRunning: Promise<void>;
let svc: RagService;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function setCopies(copies: number): Promise<void> {
  await stack.sagemaker.send(
    new UpdateInferenceComponentRuntimeConfigCommand({ InferenceComponentName: COMPONENT, DesiredRuntimeConfig: { CopyCount: copies } }),
  );
  for (let i = 0; i < 240; i++) {
    const ic = await stack.sagemaker.send(new DescribeInferenceComponentCommand({ InferenceComponentName: COMPONENT }));
    if (ic.InferenceComponentStatus === 'InService' && ic.RuntimeConfig?.CurrentCopyCount === copies) return;
    await sleep(250);
  }
  throw new Error(`${COMPONENT} did not reach ${copies} copies`);
}

beforeAll(async () => {
  stack = await startE2eStack();
  const [component] = example.components;
  const { autoscaling: _none, ...fixed } = component!;
  await stack.env.client.workflow.execute('deployEndpoint', {
    taskQueue: CONTROL_TASK_QUEUE,
    workflowId: `deploy-${EP}`,
    args: [{ ...example, endpointName: EP, smokeTest: false, components: [{ ...fixed, name: COMPONENT }] }],
  });
  worker = await Worker.create({
    connection: stack.env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowsPath: fileURLToPath(new URL('./fixtures/rag-invoke-workflows.ts', import.meta.url)),
    activities: createRuntimeActivities({ runtime: stack.runtime }),
  });
  workerRunning = worker.run();
  svc = await startRagService({
    client: stack.env.client,
    runtime: stack.runtime,
    sagemaker: stack.sagemaker,
    taskQueue: TASK_QUEUE,
    apiKeys: [{ key: KEY, endpoints: [EP], collections: ['documents'] }],
    logger: pino({ level: 'silent' }),
  });
}, 300_000);

afterAll(async () => {
  await svc?.close();
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerRunning;
  await stack?.stop();
});

const ask = () =>
  fetch(`${svc.url}/rag`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    body: JSON.stringify({ query: 'why is the sky blue?', endpointName: EP }),
  });

describe('the RAG service and a component with no capacity', () => {
  it('answers 503 with Retry-After while the component has no copy, and 200 once one serves', async () => {
    await setCopies(0);
    const refused = await ask();
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect({ status: refused.status, retryAfter: refused.headers.get('retry-after'), code: body.error.code }).toEqual({
      status: 503,
      retryAfter: '60',
      code: 'no_capacity',
    });
    expect(body.error.message).toBe(`Endpoint ${EP} has no model copy serving right now (scaled to zero and waking up); retry after 60 s`);

    await setCopies(1);
    const answered = await ask();
    expect(answered.status).toBe(200);
    expect(((await answered.json()) as { answer: string }).answer.length).toBeGreaterThan(0);
  }, 120_000);
});
