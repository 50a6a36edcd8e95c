// What the SageMaker Runtime layer costs on top of a model process, and what streaming buys.
// Three rows per mode: POSTing to the container directly, POSTing the same bytes to the local
// cloud's runtime routes with the same HTTP client (the difference is the local cloud's own
// overhead), and the AWS SDK's InvokeEndpoint / InvokeEndpointWithResponseStream (adding the
// SDK's signing and parsing). Generation is deterministic (greedy, `ignore_eos`, a fixed
// max_new_tokens), so every request does the same work. Loopback only, a bounded number of
// iterations; prints figures, asserts nothing.
//   npx tsx bench/invoke.ts            (BENCH_ITERATIONS=50, BENCH_MAX_NEW_TOKENS=64 by default)
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeEndpointCommand, InvokeEndpointWithResponseStreamCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import pino from 'pino';
import { modelsDirs } from '../common/project-paths.js';
import { ContainerPool } from '../local/instances/pool.js';
import { createRuntimeHandler } from '../local/runtime/routes.js';
import { formatTable, percentile } from './stats.js';
import { integer, variableGroup } from '../common/config.js';

const settings = variableGroup('bench/invoke.ts', {
  BENCH_ITERATIONS: integer('Requests per measurement', { min: 1, default: '50' }),
  BENCH_MAX_NEW_TOKENS: integer('Tokens generated per request', { min: 1, default: '64' }),
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
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const runtimeUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new SageMakerRuntimeClient({
    endpoint: runtimeUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });

  try {
    const results = await measure([
      ['container direct, JSON', () => postJson(`${containerUrl}/invocations`)],
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

    console.log(
      `model: ggml-org/tiny-llamas (stories260K), 1 process, 1 thread; greedy, ignore_eos, max_new_tokens=${MAX_NEW_TOKENS}; ` +
        `${ITERATIONS} iterations per path (interleaved) after ${WARMUP} warm-up rounds`,
    );
    console.log(`fleet launch (spawn → /ping 200): ${launchMs.toFixed(0)} ms`);
    console.log('');
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
    console.log(formatTable(header, rows));
    const byLabel = new Map(results);
    const gap = (label: string, base: string, pick: (s: Sample) => number | undefined) =>
      (p50(byLabel.get(label)!, pick)! - p50(byLabel.get(base)!, pick)!).toFixed(2);
    console.log('');
    console.log(
      `local cloud overhead (p50, runtime route − container direct): InvokeEndpoint ${gap('runtime route, JSON (same client)', 'container direct, JSON', (s) => s.ms)} ms, ` +
        `stream total ${gap('runtime route, stream (same client)', 'container direct, SSE', (s) => s.ms)} ms, ` +
        `first token ${gap('runtime route, stream (same client)', 'container direct, SSE', (s) => s.firstTokenMs)} ms`,
    );
  } finally {
    client.destroy();
    server.closeAllConnections();
    server.close();
    await pool.stopAll();
    rmSync(logDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
