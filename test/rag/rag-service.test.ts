// The RAG HTTP service (clients/rag-service/) against a real Temporal dev server and the real
// local cloud, whose endpoint runs the tiny TinyStories model, so /rag/stream streams real tokens
// through InvokeEndpointWithResponseStream.
//
// The workflow layer is a MOCK: the worker on task queue `rag` registers the test-only `ragQuery`
// of fixtures/rag-workflows.ts (no embedding or retrieval; a fixed prompt and sources). These
// tests are about the HTTP layer: auth, per-key grants, limits, validation, endpoint checks,
// connection limits (raw sockets), workflow start, wait and cancel, SSE streaming and its
// deadline, request ids, monitoring records, and the `llmops ask` / `llmops monitoring` commands.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMonitoringRecords, type MonitoringRecord } from '../../activities/monitoring.js';
import type { RagQueryResult } from '../../common/rag-result.js';
import { RAG_TASK_QUEUE } from '../../common/task-queues.js';
import { projectRoot } from '../../common/project-paths.js';
import { startRagService, type RagService, type RagServiceOptions } from '../../clients/rag-service/server.js';
import { deployTinyEndpoint, startActivityCloud, TEST_ROLE_NAME, TGI_IMAGE, type ActivityCloud } from '../activities/support.js';
import { devServerEnv } from '../support/temporal.js';
import { parseServerSentEvents } from '../../activities/server-sent-events.js';

const EP = 'rag-svc';
const KEY = 'test-key-0123456789abcdef';
const OTHER_KEY = 'other-key-fedcba9876543210';
const fixtureWorkflows = fileURLToPath(new URL('./fixtures/rag-workflows.ts', import.meta.url));

let env: TestWorkflowEnvironment;
let cloud: ActivityCloud;
let worker: Worker;
let workerRunning: Promise<void>;
let tmp: string;
let monitoringFile: string;
const logs: Array<Record<string, unknown>> = [];
const services: RagService[] = [];
let svc: RagService;

async function start(overrides: Partial<RagServiceOptions> = {}): Promise<RagService> {
  const service = await startRagService({
    client: env.client,
    runtime: cloud.clients.runtime,
    sagemaker: cloud.clients.sagemaker,
    apiKeys: [
      { key: KEY, endpoints: [EP, 'rag-svc-broken', 'no-such-endpoint'], collections: ['documents'] },
      // Its default collection is notes; it may not use the other endpoints.
      { key: OTHER_KEY, endpoints: [EP], collections: ['notes', 'documents'] },
    ],
    maxBodyBytes: 1024,
    maxQueryChars: 500,
    rateLimitPerMinute: 1000,
    monitoringFile,
    logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
    ...overrides,
  });
  services.push(service);
  return service;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'rag-service-'));
  monitoringFile = join(tmp, 'prompts.jsonl');
  [env, cloud] = await Promise.all([devServerEnv(), startActivityCloud()]);
  worker = await Worker.create({ connection: env.nativeConnection, taskQueue: RAG_TASK_QUEUE, workflowsPath: fixtureWorkflows });
  workerRunning = worker.run();
  await deployTinyEndpoint(cloud.activities, EP);
  svc = await start();
});

afterAll(async () => {
  for (const s of services) await s.close();
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerRunning;
  await cloud?.close();
  await env?.teardown();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** POSTs to the service; `key: null` sends no x-api-key header. */
function post(path: string, body: unknown, { key = KEY as string | null, service = () => svc, raw = false } = {}) {
  return fetch(`${service().url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === null ? {} : { 'x-api-key': key }) },
    body: raw ? (body as string) : JSON.stringify(body),
  });
}

interface ErrorBody {
  error: { code: string; message: string; requestId: string };
}

/** Checks the error shape (its requestId is the X-Request-Id header) and returns the message. */
async function expectError(res: Response, status: number, code: string): Promise<string> {
  const body = (await res.json()) as ErrorBody;
  expect({ status: res.status, code: body.error?.code }).toEqual({ status, code });
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'requestId']);
  expect(body.error.requestId).toMatch(/^[0-9a-f-]{36}$/);
  expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
  return body.error.message;
}

/** The log lines of one request. */
const logsOf = (requestId: string | null) => logs.filter((l) => l.requestId === requestId);

interface SseEvent {
  event: string;
  data: any;
}

/** The events of a finished /rag/stream body, with their JSON payloads parsed. */
function parseSse(text: string): SseEvent[] {
  return parseServerSentEvents(text).map(({ event, data }) => ({ event: event ?? 'message', data: JSON.parse(data) }));
}

interface RawConnection {
  socket: Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Calls `send` every 200 ms until the server closes the connection, at most `tries` times. */
  trickleUntilClosed(send: () => void, tries?: number): Promise<'closed' | 'still open'>;
}

/** A raw TCP connection to `service`, to play a client no fetch would be (slow, idle, one too many). */
function rawConnection(service: RagService): RawConnection {
  const socket = connect(service.port, '127.0.0.1');
  let received = '';
  let closed = false;
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('error', () => {}); // a reset is one of the ways to be cut off
  socket.on('close', () => (closed = true));
  return {
    socket,
    received: () => received,
    async trickleUntilClosed(send, tries = 30) {
      for (let i = 0; i < tries && !closed; i++) {
        await new Promise((r) => setTimeout(r, 200));
        if (!closed && socket.writable) send();
      }
      if (!closed) socket.destroy();
      return closed ? 'closed' : 'still open';
    },
  };
}

/** The workflow input a run was started with, from its history. */
async function startInput(workflowId: string): Promise<Record<string, unknown>> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const payload = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
  return defaultPayloadConverter.fromPayload(payload);
}

describe('GET /healthz', () => {
  it('answers without an API key', async () => {
    const res = await fetch(`${svc.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('unknown routes and methods answer 404 and 405 in the error shape', async () => {
    await expectError(await fetch(`${svc.url}/nope`), 404, 'not_found');
    const res = await fetch(`${svc.url}/rag`);
    expect(res.headers.get('allow')).toBe('POST');
    await expectError(res, 405, 'method_not_allowed');
  });
});

describe('hosting a rag worker', () => {
  it('refuses a client that is not on a NativeConnection, before listening', async () => {
    // env.client talks gRPC through @temporalio/client's Connection: no worker can share it.
    await expect(start({ ragWorker: {} })).rejects.toThrow('ragWorker: the client must be created on a NativeConnection');
  });
});

describe('auth', () => {
  it('a missing API key is 401 naming the x-api-key header', async () => {
    const message = await expectError(await post('/rag', { query: 'hi' }, { key: null }), 401, 'unauthorized');
    expect(message).toContain('x-api-key');
  });

  it('a wrong API key (same length, other length, empty) is 401', async () => {
    for (const key of [KEY.replace(/.$/, 'X'), 'short', `${KEY}-longer`]) {
      await expectError(await post('/rag', { query: 'hi' }, { key }), 401, 'unauthorized');
    }
    await expectError(await post('/rag/stream', { query: 'hi' }, { key: '' }), 401, 'unauthorized');
  });

  it('API keys never reach the logs', () => {
    expect(logs.length).toBeGreaterThan(0);
    const all = JSON.stringify(logs);
    expect(all).not.toContain(KEY);
    expect(all).not.toContain(OTHER_KEY);
  });
});

describe('per-key grants', () => {
  it('a request naming an endpoint its key may not query is 403 naming endpointName, on both routes', async () => {
    for (const path of ['/rag', '/rag/stream']) {
      const message = await expectError(await post(path, { query: 'hi', endpointName: 'rag-svc-broken' }, { key: OTHER_KEY }), 403, 'forbidden');
      expect(message).toBe(`endpointName: this API key may not query endpoint rag-svc-broken; it may query ${EP}`);
    }
    // The same endpoint for a key that may: past the grant (503: it is not InService).
    expect((await post('/rag', { query: 'hi', endpointName: 'no-such-endpoint' })).status).toBe(503);
  });

  it('a request naming a collection its key may not query is 403 naming collection', async () => {
    const message = await expectError(await post('/rag', { query: 'hi', collection: 'notes' }), 403, 'forbidden');
    expect(message).toBe('collection: this API key may not query collection notes; it may query documents');
  });

  it("a request naming neither gets its key's first endpoint and collection", async () => {
    const res = await post('/rag', { query: 'Which collection?' }, { key: OTHER_KEY });
    expect(res.status).toBe(200);
    expect(await startInput(res.headers.get('x-workflow-id')!)).toMatchObject({ endpointName: EP, collection: 'notes' });
  });

  it('keys and grants are checked when the service starts, naming the key by position only', async () => {
    await expect(start({ apiKeys: [] })).rejects.toThrow('apiKeys: at least one API key is required');
    await expect(
      start({
        apiKeys: [
          { key: KEY, endpoints: [EP], collections: ['documents'] },
          { key: 'short', endpoints: [], collections: ['documents'] },
        ],
      }),
    ).rejects.toThrow('apiKeys: key #2: key: must be at least 16 characters; apiKeys: key #2: endpoints: must list at least one endpoint');
  });
});

describe('connection limits (raw sockets)', () => {
  it('a client that sends its headers slowly is answered 408 and cut off', async () => {
    const limited = await start({ headersTimeoutMs: 500, requestTimeoutMs: 1000 });
    const conn = rawConnection(limited);
    conn.socket.write('POST /rag HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    expect(await conn.trickleUntilClosed(() => conn.socket.write(`x-slow-${randomUUID()}: 1\r\n`))).toBe('closed');
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a client that sends its body slowly is answered 408 and cut off', async () => {
    const limited = await start({ headersTimeoutMs: 500, requestTimeoutMs: 1000 });
    const conn = rawConnection(limited);
    conn.socket.write(`POST /rag HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: ${KEY}\r\ncontent-length: 200\r\n\r\n{"query":"`);
    expect(await conn.trickleUntilClosed(() => conn.socket.write('a'))).toBe('closed');
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('requestTimeoutMs bounds receiving the request, not waiting for the answer', async () => {
    const limited = await start({ headersTimeoutMs: 500, requestTimeoutMs: 1000, workflowTimeoutMs: 2500 });
    // The run sleeps 10 s: the answer is the workflow timeout's 504, not the request timeout's 408.
    await expectError(await post('/rag', { query: 'wait [slow]' }, { service: () => limited }), 504, 'workflow_timeout');
  });

  it('an idle keep-alive connection is closed after keepAliveTimeoutMs', async () => {
    const limited = await start({ keepAliveTimeoutMs: 300 });
    const conn = rawConnection(limited);
    conn.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    // Within 2 s: Node's default would keep it 5 s.
    expect(await conn.trickleUntilClosed(() => {}, 10)).toBe('closed');
    expect(conn.received()).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('connections past maxConnections are closed unanswered; a freed slot serves again', async () => {
    const capped = await start({ maxConnections: 2 });
    const held = [rawConnection(capped), rawConnection(capped)];
    for (const conn of held) {
      conn.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await expect.poll(() => conn.received()).toMatch(/^HTTP\/1\.1 200 /);
    }
    const extra = rawConnection(capped);
    extra.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(await extra.trickleUntilClosed(() => {})).toBe('closed');
    expect(extra.received()).toBe('');
    expect(logs.some((l) => l.msg === 'connection refused: maxConnections reached')).toBe(true);

    held[0].socket.destroy();
    await expect.poll(async () => (await fetch(`${capped.url}/healthz`).catch(() => undefined))?.status, { timeout: 5000 }).toBe(200);
    held[1].socket.destroy();
  });

  it('bad limits fail at start naming the option', async () => {
    await expect(start({ maxConnections: 0 })).rejects.toThrow('maxConnections: must be a positive integer (got 0)');
    await expect(start({ headersTimeoutMs: 2000, requestTimeoutMs: 1000 })).rejects.toThrow('headersTimeoutMs: must not exceed requestTimeoutMs (2000 > 1000)');
  });
});

describe('request limits and validation', () => {
  it('a body over maxBodyBytes is 413, whether declared by Content-Length or streamed chunked', async () => {
    const big = JSON.stringify({ query: 'x'.repeat(2000) });
    expect(await expectError(await post('/rag', big, { raw: true }), 413, 'body_too_large')).toContain('1024 bytes');
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 4; i++) c.enqueue(new TextEncoder().encode(' '.repeat(400)));
        c.close();
      },
    });
    const res = await fetch(`${svc.url}/rag`, { method: 'POST', headers: { 'x-api-key': KEY }, body: chunked, duplex: 'half' } as RequestInit);
    await expectError(res, 413, 'body_too_large');
  });

  it('a body that is not JSON, or not a JSON object, is 400', async () => {
    expect(await expectError(await post('/rag', '{"query": "unterminated', { raw: true }), 400, 'invalid_json')).toMatch(/not valid JSON/);
    await expectError(await post('/rag', '["query"]', { raw: true }), 400, 'invalid_json');
    await expectError(await post('/rag/stream', '', { raw: true }), 400, 'invalid_json');
  });

  it('an invalid field is 400 naming the field and the rule', async () => {
    expect(await expectError(await post('/rag', { query: 'hi', topK: 0 }), 400, 'invalid_input')).toMatch(/^topK: .*>=1/);
    expect(await expectError(await post('/rag', { query: 'hi', mode: 'fuzzy' }), 400, 'invalid_input')).toMatch(/^mode: /);
    expect(await expectError(await post('/rag', { topK: 3 }), 400, 'invalid_input')).toBe('query: is required');
    expect(await expectError(await post('/rag', { query: '   ' }), 400, 'invalid_input')).toBe('query: must not be empty');
    expect(await expectError(await post('/rag', { query: 'hi', endpointName: 'bad_name!' }), 400, 'invalid_input')).toMatch(/^endpointName: must match/);
    expect(await expectError(await post('/rag', { query: 'hi', generation: { max_new_tokens: 0 } }), 400, 'invalid_input')).toMatch(
      /^generation\.max_new_tokens: /,
    );
    // Only the service decides prepareOnly.
    expect(await expectError(await post('/rag', { query: 'hi', prepareOnly: true }), 400, 'invalid_input')).toMatch(/prepareOnly/);
  });

  it('a query over maxQueryChars is 400 query_too_long', async () => {
    expect(await expectError(await post('/rag', { query: 'q'.repeat(501) }), 400, 'query_too_long')).toBe('query: must be at most 500 characters (got 501)');
  });

  it('each API key has its own token bucket: past it, 429 with Retry-After', async () => {
    const limited = await start({ rateLimitPerMinute: 2 });
    const send = (key: string) => post('/rag', { query: 'How do endpoints scale?' }, { key, service: () => limited });
    expect((await send(KEY)).status).toBe(200);
    expect((await send(KEY)).status).toBe(200);
    const res = await send(KEY);
    // 2 per minute: the next token is 30 s away.
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(29);
    expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(30);
    expect(await expectError(res, 429, 'rate_limited')).toMatch(/2 requests per minute/);
    expect((await send(OTHER_KEY)).status).toBe(200);
  });
});

describe('endpoint status', () => {
  it('an unknown endpoint is 503', async () => {
    const message = await expectError(await post('/rag', { query: 'hi', endpointName: 'no-such-endpoint' }), 503, 'endpoint_unavailable');
    expect(message).toBe('Endpoint no-such-endpoint does not exist');
  });

  it('an endpoint that is not InService is 503 with Retry-After', async () => {
    // A model that does not exist in the models directory: the endpoint never reaches InService.
    const a = cloud.activities;
    const { roleArn } = await a.ensureExecutionRole({ roleName: TEST_ROLE_NAME });
    const tags = { endpointName: 'rag-svc-broken', runTag: 'deploy-rag-svc-broken/run-1' };
    await a.createModel({ modelName: 'rag-svc-broken-m', image: TGI_IMAGE, environment: { HF_MODEL_ID: 'nobody/no-such-model' }, roleArn, tags });
    await a.createEndpointConfig({
      configName: 'rag-svc-broken-c',
      modelName: 'rag-svc-broken-m',
      variantName: 'AllTraffic',
      instanceType: 'ml.m5.large',
      initialInstanceCount: 1,
      containerStartupHealthCheckTimeoutSeconds: 60,
      tags,
    });
    await a.createOrUpdateEndpoint({ endpointName: 'rag-svc-broken', configName: 'rag-svc-broken-c', tags });
    for (const path of ['/rag', '/rag/stream']) {
      const res = await post(path, { query: 'hi', endpointName: 'rag-svc-broken' });
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await expectError(res, 503, 'endpoint_unavailable')).toMatch(/^Endpoint rag-svc-broken is (Creating|Failed), not InService/);
    }
  });
});

describe('POST /rag', () => {
  it('runs ragQuery on task queue rag and answers its result, without the prompt', async () => {
    const res = await post('/rag', { query: 'How do I scale a SageMaker endpoint?', topK: 3 });
    expect(res.status).toBe(200);
    const workflowId = res.headers.get('x-workflow-id')!;
    expect(workflowId).toMatch(/^rag-[0-9a-f-]{36}$/);
    const body = (await res.json()) as Omit<RagQueryResult, 'prompt'>;
    expect(body).not.toHaveProperty('prompt');
    expect(body).toMatchObject({
      query: 'How do I scale a SageMaker endpoint?',
      answer: 'A mock answer.',
      model: { endpointName: EP, format: 'tgi' },
      timings: { embed: 3, generate: 40 },
    });
    expect(body.sources.map((s) => s.id)).toEqual(['doc-1#0', 'doc-2#3']);

    const description = await env.client.workflow.getHandle(workflowId).describe();
    expect({ type: description.type, taskQueue: description.taskQueue }).toEqual({ type: 'ragQuery', taskQueue: RAG_TASK_QUEUE });
    // The validated input, defaults filled in, prepareOnly off.
    expect(await startInput(workflowId)).toMatchObject({ endpointName: EP, collection: 'documents', topK: 3, mode: 'hybrid', prepareOnly: false });
  });

  it('?debug=1 includes the prompt', async () => {
    const body = (await (await post('/rag?debug=1', { query: 'Why?' })).json()) as RagQueryResult;
    expect(body.prompt).toBe('Once upon a time, a little girl asked: Why?');
  });

  it('a failed workflow is 502 saying so, without its internal reason, which the log has under the request id', async () => {
    const res = await post('/rag', { query: 'broken [fail]' });
    const requestId = res.headers.get('x-request-id');
    const message = await expectError(res, 502, 'rag_query_failed');
    expect(message).toBe('The query workflow failed; the service log has the details under this requestId');
    expect(message).not.toContain('collection missing');
    expect(logsOf(requestId).find((l) => l.msg === 'ragQuery failed')).toMatchObject({
      code: 'rag_query_failed',
      workflowId: expect.stringMatching(/^rag-/),
      cause: 'RAG query failed at step retrieve: collection missing does not exist',
    });
  });

  it('a workflow that takes too long is 504, and the run is cancelled', async () => {
    const impatient = await start({ workflowTimeoutMs: 1000 });
    const res = await post('/rag', { query: 'wait [slow]' }, { service: () => impatient });
    const requestId = res.headers.get('x-request-id');
    const message = await expectError(res, 504, 'workflow_timeout');
    expect(message).toBe('The query did not finish within 1000 ms and was cancelled; try again later');
    const workflowId = logsOf(requestId).find((l) => l.msg === 'ragQuery failed')!.workflowId as string;
    await expect.poll(async () => (await env.client.workflow.getHandle(workflowId).describe()).status.name, { timeout: 5000 }).toBe('CANCELLED');
  });

  it('a client that disconnects while its query runs cancels the ragQuery run', async () => {
    const query = `wait [slow] ${randomUUID()}`;
    const conn = rawConnection(svc);
    const body = JSON.stringify({ query });
    conn.socket.write(`POST /rag HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: ${KEY}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    // The run, found through Temporal by its input once it is running.
    let workflowId: string | undefined;
    await expect
      .poll(
        async () => {
          for await (const w of env.client.workflow.list({ query: `WorkflowType = 'ragQuery' AND ExecutionStatus = 'Running'` })) {
            if ((await startInput(w.workflowId)).query === query) workflowId = w.workflowId;
          }
          return workflowId;
        },
        { timeout: 10_000 },
      )
      .toBeDefined();
    conn.socket.destroy();
    await expect.poll(async () => (await env.client.workflow.getHandle(workflowId!).describe()).status.name, { timeout: 5000 }).toBe('CANCELLED');
    expect(logs.find((l) => l.workflowId === workflowId && l.msg === 'client disconnected; ragQuery cancelled')).toBeDefined();
  });
});

describe('POST /rag/stream', () => {
  it("streams the endpoint's tokens, then done with sources and timings, and records the query", async () => {
    const before = (await readMonitoringRecords({ file: monitoringFile })).length;
    const res = await post('/rag/stream', { query: 'Where did the cat go?', generation: { max_new_tokens: 24 } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const workflowId = res.headers.get('x-workflow-id')!;
    const events = parseSse(await res.text());

    const tokens = events.filter((e) => e.event === 'token');
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    expect(tokens.length).toBeLessThanOrEqual(24);
    expect(events.at(-1)!.event).toBe('done');
    expect(events.map((e) => e.event)).toEqual([...tokens.map(() => 'token'), 'done']);
    const done = events.at(-1)!.data;
    expect(tokens.map((t) => t.data.text).join('')).toBe(done.answer);
    expect(done.answer.trim()).not.toBe('');
    expect(done).not.toHaveProperty('prompt');
    expect(done.sources.map((s: { id: string }) => s.id)).toEqual(['doc-1#0', 'doc-2#3']);
    expect(done.usage).toEqual({ promptTokens: 12, contextChunks: 2, completionTokens: tokens.length });
    expect(done.timings).toMatchObject({ embed: 3, retrieve: 2, rerank: 0, buildPrompt: 1 });
    for (const k of ['workflow', 'generate', 'ttft', 'total']) expect(done.timings[k]).toEqual(expect.any(Number));
    expect(done.timings.ttft).toBeLessThanOrEqual(done.timings.generate);
    expect(done.timings.total).toBeGreaterThanOrEqual(done.timings.workflow + done.timings.generate - 5);
    expect(done.workflowId).toBe(workflowId);

    // The workflow only prepared the prompt; the service generated.
    expect(await startInput(workflowId)).toMatchObject({ prepareOnly: true, endpointName: EP });

    const records = await readMonitoringRecords({ file: monitoringFile });
    expect(records.length).toBe(before + 1);
    const record = records.at(-1)!;
    expect(record).toMatchObject<Partial<MonitoringRecord>>({
      via: 'stream',
      workflowId,
      query: 'Where did the cat go?',
      prompt: 'Once upon a time, a little girl asked: Where did the cat go?',
      answer: done.answer,
      timings: done.timings,
      usage: done.usage,
      model: { endpointName: EP, format: 'tgi' },
    });
    expect(Date.parse(record.at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("a configured inference component is its endpoint's default: the workflow gets it, and the runtime is asked for it", async () => {
    // rag-svc is model-based, so the local cloud refuses the component as AWS does: proof that it was sent.
    const service = await start({ inferenceComponents: { [EP]: 'rag-svc-llm' } });
    const res = await post('/rag/stream', { query: 'Who?', generation: { max_new_tokens: 4 } }, { service: () => service });
    const events = parseSse(await res.text());
    expect(events.map((e) => e.event)).toEqual(['error']);
    expect(await startInput(res.headers.get('x-workflow-id')!)).toMatchObject({ endpointName: EP, inferenceComponentName: 'rag-svc-llm' });
    expect(logsOf(res.headers.get('x-request-id')).find((l) => l.msg === 'generation failed mid-stream')).toMatchObject({
      err: expect.stringMatching(/Inference Component Name header is not allowed for endpoint rag-svc/),
    });
    // A request that names no component on the shared service still goes to the model.
    const plain = parseSse(await (await post('/rag/stream', { query: 'Who?', generation: { max_new_tokens: 4 } })).text());
    expect(plain.at(-1)!.event).toBe('done');
    await expect(start({ inferenceComponents: { [EP]: 'bad_name' } })).rejects.toThrow(`inferenceComponents.${EP}: must match`);
  });

  it('?debug=1 adds the prompt to done', async () => {
    const events = parseSse(await (await post('/rag/stream?debug=1', { query: 'Who?', generation: { max_new_tokens: 4 } })).text());
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { prompt: 'Once upon a time, a little girl asked: Who?' } });
  });

  it('a generation the endpoint rejects ends the stream with an error event naming the reason', async () => {
    const before = (await readMonitoringRecords({ file: monitoringFile })).length;
    // The tiny endpoint allows 512 total tokens; TGI rejects the request.
    const res = await post('/rag/stream', { query: 'Tell me everything', generation: { max_new_tokens: 4000 } });
    expect(res.status).toBe(200);
    const events = parseSse(await res.text());
    expect(events.map((e) => e.event)).toEqual(['error']);
    const requestId = res.headers.get('x-request-id');
    expect(events[0].data).toEqual({
      code: 'generation_failed',
      message: 'Generation on endpoint rag-svc failed after 0 token(s); the service log has the details under this requestId',
      requestId,
    });
    // The endpoint's own words are in the log only.
    expect(logsOf(requestId).find((l) => l.msg === 'generation failed mid-stream')).toMatchObject({ err: expect.stringMatching(/max_new_tokens/) });
    expect((await readMonitoringRecords({ file: monitoringFile })).length).toBe(before);
  });

  it('a generation past its deadline ends the stream with a generation_timeout error event', async () => {
    const before = (await readMonitoringRecords({ file: monitoringFile })).length;
    const hurried = await start({ generationTimeoutMs: 50 });
    const res = await post('/rag/stream', { query: 'Tell a long story', generation: { max_new_tokens: 400 } }, { service: () => hurried });
    expect(res.status).toBe(200);
    const events = parseSse(await res.text());
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'generation_timeout', requestId: res.headers.get('x-request-id') } });
    expect(events.at(-1)!.data.message).toMatch(/^Generation on endpoint rag-svc did not finish within 50 ms; stopped after \d+ token\(s\)$/);
    expect(events.map((e) => e.event)).not.toContain('done');
    expect((await readMonitoringRecords({ file: monitoringFile })).length).toBe(before);
  });

  it('a failed workflow is 502 before any event', async () => {
    const message = await expectError(await post('/rag/stream', { query: 'broken [fail]' }), 502, 'rag_query_failed');
    expect(message).not.toContain('collection missing');
  });

  it('a client that disconnects mid-stream aborts the endpoint stream', async () => {
    const before = (await readMonitoringRecords({ file: monitoringFile })).length;
    const controller = new AbortController();
    const res = await fetch(`${svc.url}/rag/stream`, {
      method: 'POST',
      headers: { 'x-api-key': KEY },
      body: JSON.stringify({ query: 'Tell a long story', generation: { max_new_tokens: 400 } }),
      signal: controller.signal,
    });
    const workflowId = res.headers.get('x-workflow-id');
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toMatch(/^event: token\n/);
    controller.abort();
    await expect
      .poll(() => logs.find((l) => l.workflowId === workflowId && typeof l.msg === 'string' && /client disconnected/.test(l.msg)), { timeout: 10_000 })
      .toMatchObject({ msg: 'client disconnected; endpoint stream aborted', tokens: expect.any(Number) });
    const aborted = logs.find((l) => l.workflowId === workflowId && l.msg === 'client disconnected; endpoint stream aborted')!;
    expect(aborted.tokens).toBeLessThan(400);
    // No record for an answer nobody received in full; the service carries on.
    expect((await readMonitoringRecords({ file: monitoringFile })).length).toBe(before);
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
  });
});

describe('llmops ask / monitoring', () => {
  const cli = (args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', join(projectRoot, 'clients', 'cli.ts'), ...args], {
      cwd: projectRoot,
      env: { ...process.env, TEMPORAL_ADDRESS: env.address, LLMOPS_MONITORING_FILE: monitoringFile },
    });

  it('ask --json prints the RagQueryResult; ask prints answer, sources and timings', async () => {
    const json = JSON.parse((await cli(['ask', 'How do I scale?', '--endpoint', EP, '--top-k', '2', '--json'])).stdout) as RagQueryResult;
    expect(json).toMatchObject({ query: 'How do I scale?', answer: 'A mock answer.', model: { endpointName: EP } });
    const { stdout } = await cli(['ask', 'How do I scale?', '--endpoint', EP]);
    expect(stdout).toContain('A mock answer.');
    expect(stdout).toMatch(/\[1\] 0\.920 {2}scaling\.md \(Scaling\) {2}id doc-1#0/);
    expect(stdout).toContain('Endpoints scale with Application Auto Scaling.');
    expect(stdout).toMatch(/Timings \(ms\): embed 3 · retrieve 2 · rerank 0 · buildPrompt 1 · generate 40 · round trip \d+/);
  });

  it('ask with an invalid option fails naming the field', async () => {
    await expect(cli(['ask', 'x', '--mode', 'fuzzy'])).rejects.toMatchObject({ stderr: expect.stringMatching(/mode: /) });
  });

  it('monitoring prints the newest records', async () => {
    const records = JSON.parse((await cli(['monitoring', '--limit', '1', '--json'])).stdout) as MonitoringRecord[];
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ via: 'stream', model: { endpointName: EP } });
    const { stdout } = await cli(['monitoring']);
    expect(stdout).toMatch(/stream {3}rag-svc {2}rag-/);
    expect(stdout).toContain('Q: Where did the cat go?');
  });
});
