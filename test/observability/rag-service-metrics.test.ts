// The RAG service's GET /metrics and GET /readyz, against the real stack of rag-service-stack.ts
// (real Temporal, real local cloud and tiny model; the ragQuery workflow is the MOCK fixture, whose
// step timings are fixed: embed 3 ms, retrieve 2, rerank 0, buildPrompt 1, and generate 40 on /rag).
// Scrapes before and after requests and checks that each number moved by what the requests did.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RagService } from '../../clients/rag-service/server.js';
import { parseServerSentEvents } from '../../activities/server-sent-events.js';
import { freePort } from '../../dev/processes.js';
import { API_KEY, startRagServiceStack, type RagServiceStack } from './rag-service-stack.js';

const EP = 'obs-metrics';
let stack: RagServiceStack;
let svc: RagService;

beforeAll(async () => {
  stack = await startRagServiceStack(EP);
  svc = await stack.start();
});

afterAll(async () => {
  await stack?.close();
});

/** One sample of the Prometheus text: the value of `name` with exactly these labels (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '')
      .split(/,(?=\w+=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    if (got === want) return Number(m[3]);
  }
  return 0;
}

async function scrape(service = svc): Promise<string> {
  const res = await fetch(`${service.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

const post = (path: string, body: unknown, key: string | null = API_KEY) =>
  fetch(`${svc.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
    body: JSON.stringify(body),
  });

describe('GET /metrics', () => {
  it('counts requests by route and status, and errors by code', async () => {
    const before = await scrape();
    expect((await post('/rag', { query: 'How do endpoints scale?' })).status).toBe(200);
    expect((await post('/rag', { query: 'no key' }, null)).status).toBe(401);
    expect((await post('/rag', { query: 'wrong key' }, 'not-a-key-0123456789')).status).toBe(401);
    expect((await fetch(`${svc.url}/no/such/path/${Math.random()}`)).status).toBe(404);

    await expect
      .poll(async () => {
        const after = await scrape();
        const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
        return {
          ok: delta('rag_http_requests_total', { route: '/rag', method: 'POST', status: '200' }),
          unauthorized: delta('rag_http_requests_total', { route: '/rag', method: 'POST', status: '401' }),
          unauthorizedErrors: delta('rag_http_errors_total', { route: '/rag', code: 'unauthorized' }),
          // A random path is counted under `other`, not as a series of its own.
          notFound: delta('rag_http_requests_total', { route: 'other', method: 'GET', status: '404' }),
          latencyCount: delta('rag_http_request_duration_seconds_count', { route: '/rag', status: '200' }),
          embedCount: delta('rag_step_duration_seconds_count', { route: '/rag', step: 'embed' }),
          embedSum: Math.round(delta('rag_step_duration_seconds_sum', { route: '/rag', step: 'embed' }) * 1e6),
          generateSum: Math.round(delta('rag_step_duration_seconds_sum', { route: '/rag', step: 'generate' }) * 1e6),
          promptCount: delta('rag_step_duration_seconds_count', { route: '/rag', step: 'prompt' }),
        };
      })
      .toEqual({
        ok: 1,
        unauthorized: 2,
        unauthorizedErrors: 2,
        notFound: 1,
        latencyCount: 1,
        embedCount: 1,
        embedSum: 3000,
        generateSum: 40000,
        promptCount: 1,
      });
    expect(await scrape()).not.toMatch(/no\/such\/path/);
  });

  it('measures time to first token, tokens per second and tokens streamed on /rag/stream', async () => {
    const before = await scrape();
    const res = await post('/rag/stream', { query: 'Tell me a story' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-endpoint-name')).toBe(EP);
    const events = parseServerSentEvents(await res.text());
    const tokens = events.filter((e) => e.event === 'token').length;
    const done = JSON.parse(events.find((e) => e.event === 'done')!.data) as {
      timings: { ttft: number; generate: number };
      usage: { completionTokens: number };
    };
    expect(tokens).toBeGreaterThan(1);

    await expect
      .poll(async () => {
        const after = await scrape();
        const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
        return {
          streams: delta('rag_http_requests_total', { route: '/rag/stream', method: 'POST', status: '200' }),
          ttftCount: delta('rag_time_to_first_token_seconds_count'),
          ttftSumMs: Math.round(delta('rag_time_to_first_token_seconds_sum') * 1000),
          tokens: delta('rag_generated_tokens_total'),
          rateCount: delta('rag_generation_tokens_per_second_count'),
          retrieveCount: delta('rag_step_duration_seconds_count', { route: '/rag/stream', step: 'retrieve' }),
          generateSumMs: Math.round(delta('rag_step_duration_seconds_sum', { route: '/rag/stream', step: 'generate' }) * 1000),
          inFlight: sample(after, 'rag_streams_in_flight'),
        };
      })
      .toEqual({
        streams: 1,
        ttftCount: 1,
        ttftSumMs: done.timings.ttft,
        tokens: done.usage.completionTokens,
        rateCount: 1,
        retrieveCount: 1,
        generateSumMs: done.timings.generate,
        inFlight: 0,
      });
  });

  it('serves the process metrics too, and refuses other methods', async () => {
    expect(sample(await scrape(), 'rag_service_process_start_time_seconds')).toBeGreaterThan(0);
    const res = await fetch(`${svc.url}/metrics`, { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('GET /readyz', () => {
  it('is 200 when Temporal answers and the default endpoint is InService', async () => {
    const res = await fetch(`${svc.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', ready: true, checks: { temporal: 'ok', endpoints: { [EP]: 'InService' } }, reasons: [] });
  });

  it('is 503 naming the endpoint when a default endpoint does not exist', async () => {
    const other = await stack.start({
      apiKeys: [
        { key: API_KEY, endpoints: ['obs-missing'], collections: ['documents'] },
        { key: `${API_KEY}-2`, endpoints: [EP], collections: ['documents'] },
      ],
    });
    const res = await fetch(`${other.url}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { ready: boolean; checks: unknown; reasons: string[] };
    expect(body.ready).toBe(false);
    expect(body.checks).toEqual({ temporal: 'ok', endpoints: { 'obs-missing': 'missing', [EP]: 'InService' } });
    expect(body.reasons).toEqual(['endpoint obs-missing: does not exist']);
  });

  it('is 503 when Temporal does not answer', async () => {
    // A free port is one nothing listens on.
    const client = new Client({ connection: Connection.lazy({ address: `127.0.0.1:${await freePort()}` }) });
    const other = await stack.start({ client });
    const res = await fetch(`${other.url}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: { temporal: string }; reasons: string[] };
    expect(body.checks.temporal).toBe('unreachable');
    expect(body.reasons).toHaveLength(1);
    expect(body.reasons[0]).toMatch(/^temporal: unreachable/);
  });
});
