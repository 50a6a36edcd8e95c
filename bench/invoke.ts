// What the SageMaker Runtime layer costs on top of a model process, and what streaming buys.
// Three rows per mode: POSTing to the container directly, POSTing the same bytes to the local
// cloud's runtime routes with the same HTTP client (the difference is the local cloud's own
// overhead), and the AWS SDK's InvokeEndpoint / InvokeEndpointWithResponseStream (adding the
// SDK's signing and parsing). Generation is deterministic (greedy, `ignore_eos`, a fixed
// max_new_tokens), so every request does the same work. Loopback only, a bounded number of
// iterations; prints and writes its figures (bench/report.ts), asserts nothing. Two more pairs
// say where the runtime route's difference comes from: the same route in front of an instant
// container (a loopback server that answers at once, so only the local cloud's own work is
// left), and a bare node:http proxy in front of the model, for JSON and for a stream (the extra
// hop alone, none of the local cloud's code).
//   npx tsx bench/invoke.ts            (BENCH_ITERATIONS=200, BENCH_MAX_NEW_TOKENS=16 by default)
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeEndpointCommand, InvokeEndpointWithResponseStreamCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import pino from 'pino';
import { modelsDirs } from '../common/project-paths.js';
import { ContainerPool } from '../local/instances/pool.js';
import type { ContainerPoolApi } from '../local/instances/types.js';
import { createRuntimeHandler } from '../local/runtime/routes.js';
import { publishBench } from './report.js';
import { percentile } from './stats.js';
import { integer, variableGroup } from '../common/config.js';

const settings = variableGroup('bench/invoke.ts', {
  BENCH_ITERATIONS: integer('Requests per measurement', { min: 1, default: '200' }),
  BENCH_MAX_NEW_TOKENS: integer('Tokens generated per request', { min: 1, default: '16' }),
}).read();
const ITERATIONS = settings.BENCH_ITERATIONS;
const WARMUP = 10;
const MAX_NEW_TOKENS = settings.BENCH_MAX_NEW_TOKENS;
const ENDPOINT = 'bench';
const IMAGE = '763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04';
const PROMPT = 'Once upon a time';
// ignore_eos is the local container's bench-only parameter: every request yields MAX_NEW_TOKENS.
const body = (stream: boolean) => JSON.stringify({ inputs: PROMPT, parameters: { max_new_tokens: MAX_NEW_TOKENS, details: true, ignore_eos: true }, stream });

interface Sample {
  ms: number;
  tokens: number;
  firstTokenMs?: number;
}

// Paths take turns within each iteration, so warm-up and drift affect them alike.
async function measure(paths: Array<[string, () => Promise<Sample>]>): Promise<Array<[string, Sample[]]>> {
  const samples = paths.map(() => [] as Sample[]);
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    for (const [p, [, run]] of paths.entries()) {
      const sample = await run();
      if (i >= WARMUP) samples[p].push(sample);
    }
  }
  return paths.map(([label], p) => [label, samples[p]]);
}

function tokensOfSse(text: string): number {
  return text.split('\n\n').filter((block) => block.startsWith('data:') && block.includes('"token"')).length;
}

async function postJson(url: string): Promise<Sample> {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body(false) });
  const [out] = (await res.json()) as [{ details: { generated_tokens: number } }];
  return { ms: performance.now() - t0, tokens: out.details.generated_tokens };
}

/** SSE straight from the container, or the same bytes inside event-stream frames from the runtime. */
async function postStream(url: string, framed: boolean): Promise<Sample> {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body(true) });
  let text = '';
  let firstTokenMs: number | undefined;
  const decoder = new TextDecoder();
  for await (const chunk of res.body!) {
    text += decoder.decode(chunk, { stream: true });
    firstTokenMs ??= text.includes('"token"') ? performance.now() - t0 : undefined;
  }
  // Inside frames each event is one PayloadPart; its JSON is still there as text.
  const tokens = framed ? text.split('"token"').length - 1 : tokensOfSse(text);
  return { ms: performance.now() - t0, tokens, firstTokenMs };
}

async function listen(server: ReturnType<typeof createServer>): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function main(): Promise<void> {
  const quiet = pino({ level: 'silent' });
  const logDir = mkdtempSync(join(tmpdir(), 'bench-invoke-'));
  const pool = new ContainerPool({ modelsDirs: modelsDirs(), logDir, logger: quiet });
  const startedAt = performance.now();
  const fleet = await pool.launch(ENDPOINT, [
    {
      variantName: 'AllTraffic',
      image: IMAGE,
      environment: { HF_MODEL_ID: 'ggml-org/tiny-llamas' },
      instanceCount: 1,
      healthCheckTimeoutSeconds: 60,
      weight: 1,
    },
  ]);
  const launchMs = performance.now() - startedAt;
  await pool.activate(ENDPOINT, fleet);
  const containerUrl = fleet.variants[0].instances[0].url;

  const handler = createRuntimeHandler({
    pool,
    accountId: '123456789012',
    logger: quiet,
    getEndpoint: (name) => (name === ENDPOINT ? { EndpointName: name, EndpointStatus: 'InService' } : undefined),
  });
  const server = createServer((req, res) => void handler(req, res, 'us-east-1'));
  const runtimeUrl = await listen(server);
  const client = new SageMakerRuntimeClient({
    endpoint: runtimeUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });

  // A container that answers at once with a TGI answer of MAX_NEW_TOKENS tokens.
  const instantAnswer = JSON.stringify([{ generated_text: ' word'.repeat(MAX_NEW_TOKENS), details: { generated_tokens: MAX_NEW_TOKENS } }]);
  const instant = createServer((req, res) => {
    req.resume();
    req.once('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end(instantAnswer));
  });
  const instantUrl = await listen(instant);
  // The runtime's own routing in front of it: a pool whose only instance is that server.
  const instantPool = { pick: () => ({ variantName: 'AllTraffic', url: instantUrl }) } as unknown as ContainerPoolApi;
  const instantHandler = createRuntimeHandler({
    pool: instantPool,
    accountId: '123456789012',
    logger: quiet,
    getEndpoint: (name) => ({ EndpointName: name, EndpointStatus: 'InService' }),
  });
  const instantRuntime = createServer((req, res) => void instantHandler(req, res, 'us-east-1'));
  const instantRuntimeUrl = await listen(instantRuntime);
  // The hop alone: read the body, POST it to the model over a keep-alive agent, send back what
  // comes, whole (JSON) or each chunk as it comes (a stream).
  const agent = new Agent({ keepAlive: true });
  const bareProxy = (forward: (answer: IncomingMessage, res: ServerResponse) => void) =>
    createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.once('end', () => {
        const payload = Buffer.concat(chunks);
        const upstream = request(
          `${containerUrl}/invocations`,
          { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': payload.length } },
          (answer) => forward(answer, res),
        );
        upstream.end(payload);
      });
    });
  const bare = bareProxy((answer, res) => {
    const parts: Buffer[] = [];
    answer.on('data', (c: Buffer) => parts.push(c));
    answer.once('end', () => res.writeHead(answer.statusCode ?? 502, { 'Content-Type': 'application/json' }).end(Buffer.concat(parts)));
  });
  const bareUrl = await listen(bare);
  const bareStream = bareProxy((answer, res) => {
    res.writeHead(answer.statusCode ?? 502, { 'Content-Type': answer.headers['content-type'] ?? 'text/event-stream' });
    answer.pipe(res);
  });
  const bareStreamUrl = await listen(bareStream);

  try {
    const results = await measure([
      ['instant container direct, JSON', () => postJson(`${instantUrl}/invocations`)],
      ['runtime route → instant container, JSON', () => postJson(`${instantRuntimeUrl}/endpoints/${ENDPOINT}/invocations`)],
      ['container direct, JSON', () => postJson(`${containerUrl}/invocations`)],
      ['bare node:http proxy → container, JSON', () => postJson(`${bareUrl}/invocations`)],
      ['runtime route, JSON (same client)', () => postJson(`${runtimeUrl}/endpoints/${ENDPOINT}/invocations`)],
      [
        'InvokeEndpoint (SDK → runtime)',
        async () => {
          const t0 = performance.now();
          const out = await client.send(new InvokeEndpointCommand({ EndpointName: ENDPOINT, ContentType: 'application/json', Body: Buffer.from(body(false)) }));
          const [parsed] = JSON.parse(Buffer.from(out.Body!).toString()) as [{ details: { generated_tokens: number } }];
          return { ms: performance.now() - t0, tokens: parsed.details.generated_tokens };
        },
      ],
      ['container direct, SSE', () => postStream(`${containerUrl}/invocations`, false)],
      ['bare node:http proxy → container, SSE', () => postStream(`${bareStreamUrl}/invocations`, false)],
      ['runtime route, stream (same client)', () => postStream(`${runtimeUrl}/endpoints/${ENDPOINT}/invocations-response-stream`, true)],
      [
        'InvokeEndpointWithResponseStream',
        async () => {
          const t0 = performance.now();
          const out = await client.send(
            new InvokeEndpointWithResponseStreamCommand({ EndpointName: ENDPOINT, ContentType: 'application/json', Body: Buffer.from(body(true)) }),
          );
          let text = '';
          let firstTokenMs: number | undefined;
          for await (const event of out.Body!) {
            if (!event.PayloadPart?.Bytes) continue;
            text += Buffer.from(event.PayloadPart.Bytes).toString();
            firstTokenMs ??= text.includes('"token"') ? performance.now() - t0 : undefined;
          }
          return { ms: performance.now() - t0, tokens: tokensOfSse(text), firstTokenMs };
        },
      ],
    ]);

    const p50 = (samples: Sample[], pick: (s: Sample) => number | undefined) => {
      const values = samples.flatMap((s) => (pick(s) === undefined ? [] : [pick(s)!]));
      return values.length ? percentile(values, 50) : undefined;
    };
    const header = ['path', 'p50 ms', 'p95 ms', 'tokens/s (p50)', 'TTFT p50 ms', 'TTFT p95 ms'];
    const rows = results.map(([label, samples]) => {
      const firsts = samples.flatMap((s) => (s.firstTokenMs === undefined ? [] : [s.firstTokenMs]));
      const rates = samples.map((s) => (s.tokens / s.ms) * 1000);
      return [
        label,
        percentile(
          samples.map((s) => s.ms),
          50,
        ).toFixed(2),
        percentile(
          samples.map((s) => s.ms),
          95,
        ).toFixed(2),
        percentile(rates, 50).toFixed(0),
        firsts.length ? percentile(firsts, 50).toFixed(2) : '-',
        firsts.length ? percentile(firsts, 95).toFixed(2) : '-',
      ];
    });
    const byLabel = new Map(results);
    const gap = (label: string, base: string, pick: (s: Sample) => number | undefined) =>
      (p50(byLabel.get(label)!, pick)! - p50(byLabel.get(base)!, pick)!).toFixed(2);
    publishBench('invoke', {
      title: 'InvokeEndpoint and its stream against the container directly',
      method:
        `bench/invoke.ts: ggml-org/tiny-llamas (stories260K), 1 process, 1 thread; greedy, ignore_eos, max_new_tokens=${MAX_NEW_TOKENS}; ` +
        `${ITERATIONS} iterations per path (interleaved) after ${WARMUP} warm-up rounds; fleet launch (spawn → /ping 200) ${launchMs.toFixed(0)} ms. ` +
        `Local cloud overhead (p50, runtime route − container direct): InvokeEndpoint ${gap('runtime route, JSON (same client)', 'container direct, JSON', (s) => s.ms)} ms, ` +
        `stream total ${gap('runtime route, stream (same client)', 'container direct, SSE', (s) => s.ms)} ms, ` +
        `first token ${gap('runtime route, stream (same client)', 'container direct, SSE', (s) => s.firstTokenMs)} ms. ` +
        `Where it comes from (p50): the local cloud's own work, in front of an instant container, ${gap('runtime route → instant container, JSON', 'instant container direct, JSON', (s) => s.ms)} ms; ` +
        `the extra hop alone, a bare node:http proxy in front of the model, ${gap('bare node:http proxy → container, JSON', 'container direct, JSON', (s) => s.ms)} ms ` +
        `(a stream through it: total ${gap('bare node:http proxy → container, SSE', 'container direct, SSE', (s) => s.ms)} ms, ` +
        `first token ${gap('bare node:http proxy → container, SSE', 'container direct, SSE', (s) => s.firstTokenMs)} ms).`,
      columns: header,
      rows,
    });
  } finally {
    client.destroy();
    agent.destroy();
    for (const s of [server, instant, instantRuntime, bare, bareStream]) {
      s.closeAllConnections();
      s.close();
    }
    await pool.stopAll();
    rmSync(logDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
