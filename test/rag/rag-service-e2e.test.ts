// The RAG service with everything real: `tsx clients/rag-service.ts` as its own process (API keys
// from LLMOPS_API_KEYS), a Temporal dev server, the real rag worker (embedding model, LanceDB,
// the real ragQuery workflow) with the sample corpus ingested, and the tiny TGI endpoint of the
// local cloud. POST /rag and POST /rag/stream answer the same question from the same sources.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readMonitoringRecords } from '../../activities/monitoring.js';
import type { RagQueryResult } from '../../common/rag-result.js';
import { RAG_TASK_QUEUE } from '../../common/task-queues.js';
import { startProcess, waitUntil, type ManagedProcess } from '../../dev/processes.js';
import { projectRoot } from '../../common/project-paths.js';
import { createRagWorker } from '../../workers/rag.js';
import {
  pollUntilDone,
  startActivityCloud,
  tagsFor,
  TEST_CREDENTIALS,
  TEST_ROLE_NAME,
  TGI_IMAGE,
  TINY_MODEL_ENV,
  type ActivityCloud,
} from '../activities/support.js';
import { devServerEnv } from '../support/temporal.js';

const EP = 'rag-e2e';
const KEYS = ['e2e-key-one-0123456789', 'e2e-key-two-9876543210'];

let env: TestWorkflowEnvironment;
let cloud: ActivityCloud;
let rag: Awaited<ReturnType<typeof createRagWorker>>;
let ragRunning: Promise<void>;
let service: ManagedProcess;
let url: string;
let output = '';
let tmp: string;
let monitoringFile: string;

/**
 * The tiny endpoint with room for a RAG prompt: the template, the query and the context take a few
 * hundred of the tiny model's tokens, more than the 256 input tokens of the activity tests' endpoint.
 */
async function deployEndpoint(): Promise<void> {
  const a = cloud.activities;
  const { roleArn } = await a.ensureExecutionRole({ roleName: TEST_ROLE_NAME });
  const tags = tagsFor(EP);
  await a.createModel({
    modelName: `${EP}-m`,
    image: TGI_IMAGE,
    environment: { ...TINY_MODEL_ENV, MAX_INPUT_LENGTH: '1024', MAX_TOTAL_TOKENS: '1200' },
    roleArn,
    tags,
  });
  await a.createEndpointConfig({
    configName: `${EP}-c`,
    modelName: `${EP}-m`,
    variantName: 'AllTraffic',
    instanceType: 'ml.m5.large',
    initialInstanceCount: 1,
    containerStartupHealthCheckTimeoutSeconds: 600,
    tags,
  });
  await a.createOrUpdateEndpoint({ endpointName: EP, configName: `${EP}-c`, tags });
  await pollUntilDone(() => a.awaitEndpointInService({ endpointName: EP, expectedConfigName: `${EP}-c` }), 'EndpointNotReady');
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'rag-service-e2e-'));
  monitoringFile = join(tmp, 'prompts.jsonl');
  [env, cloud] = await Promise.all([devServerEnv(), startActivityCloud()]);
  rag = await createRagWorker({
    connection: env.nativeConnection,
    aws: { endpoint: cloud.cloud.url, region: 'us-east-1', credentials: TEST_CREDENTIALS },
    vectorStore: { backend: 'lancedb', lanceDir: join(tmp, 'vectors') },
    monitoringFile,
  });
  ragRunning = rag.worker.run();
  await deployEndpoint();
  await env.client.workflow.execute('ingestDocuments', {
    taskQueue: RAG_TASK_QUEUE,
    workflowId: 'ingest-e2e',
    args: [{ collection: 'documents', source: { directory: join(projectRoot, 'examples', 'corpus') }, chunkTokens: 128, overlapTokens: 16 }],
  });
  service = startProcess(process.execPath, ['--import', 'tsx', join(projectRoot, 'clients', 'rag-service.ts'), '--port', '0', '--endpoint', EP], {
    cwd: projectRoot,
    env: {
      ...process.env,
      LLMOPS_API_KEYS: KEYS.join(','),
      LLMOPS_MONITORING_FILE: monitoringFile,
      TEMPORAL_ADDRESS: env.address,
      AWS_ENDPOINT_URL: cloud.cloud.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    },
    onOutput: (chunk) => (output += chunk),
  });
  await waitUntil('rag service URL on stdout', async () => /^http:\/\/127\.0\.0\.1:\d+$/m.test(output), { timeoutMs: 30_000, process: service });
  url = /^(http:\/\/127\.0\.0\.1:\d+)$/m.exec(output)![1];
});

afterAll(async () => {
  await service?.stop();
  if (rag?.worker.getState() === 'RUNNING') rag.worker.shutdown();
  await ragRunning;
  await rag?.close();
  await cloud?.close();
  await env?.teardown();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const question = { query: 'How do I scale a SageMaker endpoint with target tracking?', contextTokens: 128, generation: { max_new_tokens: 24 } };
const post = (path: string, key = KEYS[1]) => fetch(`${url}${path}`, { method: 'POST', headers: { 'x-api-key': key }, body: JSON.stringify(question) });

it('POST /rag and POST /rag/stream answer from the same retrieved sources, and both are recorded', async () => {
  const answered = await post('/rag');
  const result = (await answered.json()) as RagQueryResult;
  expect(answered.status, JSON.stringify(result)).toBe(200);
  expect(result.answer.trim()).not.toBe('');
  expect(result.sources.length).toBeGreaterThan(0);
  expect(result.sources[0].source).toMatch(/autoscaling/);
  expect(Object.keys(result.timings)).toEqual(expect.arrayContaining(['embed', 'retrieve', 'rerank', 'buildPrompt', 'generate']));

  const streamed = await post('/rag/stream', KEYS[0]);
  expect(streamed.status).toBe(200);
  const events = (await streamed.text())
    .split('\n\n')
    .filter(Boolean)
    .map((block) => ({ event: /^event: (\w+)/.exec(block)![1], data: JSON.parse(block.slice(block.indexOf('data: ') + 6)) }));
  const tokens = events.filter((e) => e.event === 'token').map((e) => e.data.text as string);
  const done = events.at(-1)!;
  expect(done.event).toBe('done');
  expect(tokens.length).toBeGreaterThanOrEqual(2);
  expect(tokens.join('')).toBe(done.data.answer);
  expect(done.data.sources).toEqual(result.sources);
  expect(done.data.usage.promptTokens).toBe(result.usage.promptTokens);

  const records = await readMonitoringRecords({ file: monitoringFile });
  expect(records.map((r) => r.via)).toEqual(['workflow', 'stream']);
  expect(records[1]).toMatchObject({ answer: done.data.answer, prompt: records[0].prompt, workflowId: streamed.headers.get('x-workflow-id') });

  // The service's own log (stderr) has the requests, never the keys.
  await expect.poll(() => output.match(/"msg":"request"/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
  for (const key of KEYS) expect(output).not.toContain(key);
});
