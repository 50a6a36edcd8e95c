// What continuous batching buys one model process: aggregate tokens/s and time to first token
// with 1, 2, 4 and 8 concurrent streams, for a process decoding one request at a time
// (MAX_BATCH_SIZE=1) and one batching them (MAX_BATCH_SIZE=8), both running and measured in
// turns, side by side. Generation is
// deterministic (greedy, `ignore_eos`, a fixed max_new_tokens), so every request does the same
// work. On a shared machine wall-clock rates swing with other load, so each row also gives
// tokens per CPU-second of the container process (from /proc), which batching raises whatever
// else runs. Then one JSON answer at a time with and without `details`: only the detailed one
// pays for token log-probabilities. Last, long prompts under each attention set-up (flash
// attention off or on, an f16 or f32 KV cache), which is what the container's default (by
// attention head size) rests on. Loopback only; prints figures and writes them
// (bench/report.ts), asserts nothing.
//   npx tsx bench/model-server.ts   (BENCH_ROUNDS=5, BENCH_THREADS=1, BENCH_MODELS=tiny,gemma)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { modelsDirs } from '../common/project-paths.js';
import { freePort, waitUntil } from '../dev/processes.js';
import { attentionSetupEnv } from '../local/model-server/config.js';
import { startContainerProcess } from '../local/model-server/launch.js';
import { attentionSetup, type AttentionSetup } from '../local/model-server/text-generator.js';
import { cpuSeconds } from './process-cpu.js';
import { publishBench } from './report.js';
import { percentile } from './stats.js';
import { integer, list, variableGroup } from '../common/config.js';

const settings = variableGroup('bench/model-server.ts', {
  BENCH_ROUNDS: integer('Rounds per model', { min: 1, default: '5' }),
  BENCH_THREADS: integer('Threads of each model process', { min: 1, default: '1' }),
  BENCH_MODELS: list('Models to measure', { default: 'tiny,gemma' }),
}).read();
const ROUNDS = settings.BENCH_ROUNDS;
const WARMUP_ROUNDS = 2;
const THREADS = String(settings.BENCH_THREADS);
const CONCURRENCY = [1, 2, 4, 8];
const PROMPTS = [
  'Once upon a time',
  'The little dog ran',
  'Lily and Ben went to',
  'One day a bird',
  'Tom had a red ball',
  'The sun was hot',
  'Mom said',
  'There was a big tree',
];

interface BenchModel {
  label: string;
  modelId: string;
  maxNewTokens: number;
  /** Prompt lengths for the prompt-evaluation rows, in PROMPTS sentences. */
  promptSentences: number[];
}

const MODELS: Record<string, BenchModel> = {
  tiny: { label: 'ggml-org/tiny-llamas (stories260K)', modelId: 'ggml-org/tiny-llamas', maxNewTokens: 128, promptSentences: [32, 128] },
  gemma: { label: 'google/gemma-3-270m (Q4_K_M)', modelId: 'google/gemma-3-270m', maxNewTokens: 32, promptSentences: [32, 128] },
};

interface StreamSample {
  firstTokenMs: number;
  tokens: number;
}

interface Figures {
  tokensPerSecond: number;
  tokensPerCpuSecond: number;
  ttftP50: number;
  ttftP95: number;
}

function available(modelId: string): boolean {
  return modelsDirs().some((dir) => existsSync(join(dir, modelId)) && readdirSync(join(dir, modelId)).some((f) => f.endsWith('.gguf')));
}

async function stream(url: string, inputs: string, maxNewTokens: number): Promise<StreamSample> {
  const t0 = performance.now();
  const res = await fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ inputs, parameters: { max_new_tokens: maxNewTokens, ignore_eos: true }, stream: true }),
  });
  if (res.status !== 200) throw new Error(`container answered ${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
  let text = '';
  let firstTokenMs: number | undefined;
  for await (const chunk of res.body!) {
    text += decoder.decode(chunk, { stream: true });
    firstTokenMs ??= text.includes('"token"') ? performance.now() - t0 : undefined;
  }
  const tokens = text.split('\n\n').filter((block) => block.startsWith('data:') && block.includes('"token"')).length;
  if (tokens !== maxNewTokens) throw new Error(`expected ${maxNewTokens} tokens, got ${tokens}: ${text.slice(-300)}`);
  return { firstTokenMs: firstTokenMs!, tokens };
}

/** ms per generated token of one JSON answer (no stream), with or without TGI's per-token details. */
async function jsonMsPerToken(url: string, maxNewTokens: number, details: boolean): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ inputs: PROMPTS[0], parameters: { max_new_tokens: maxNewTokens, ignore_eos: true, details } }),
  });
  if (res.status !== 200) throw new Error(`container answered ${res.status}: ${await res.text()}`);
  await res.json();
  return (performance.now() - t0) / maxNewTokens;
}

/** Alternating rounds, so both settings see the same machine load. */
async function measureJson(url: string, maxNewTokens: number): Promise<{ plain: number; detailed: number }> {
  const plain: number[] = [];
  const detailed: number[] = [];
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    const a = await jsonMsPerToken(url, maxNewTokens, false);
    const b = await jsonMsPerToken(url, maxNewTokens, true);
    if (round >= WARMUP_ROUNDS) {
      plain.push(a);
      detailed.push(b);
    }
  }
  return { plain: percentile(plain, 50), detailed: percentile(detailed, 50) };
}

/** A started container. */
interface Running {
  url: string;
  pid: number;
}

/** `concurrency` simultaneous streams: all their tokens over the round's wall time, and the container's CPU meanwhile. */
async function round(target: Running, concurrency: number, maxNewTokens: number, first: number) {
  const cpuBefore = cpuSeconds(target.pid);
  const t0 = performance.now();
  const samples = await Promise.all(Array.from({ length: concurrency }, (_, i) => stream(target.url, PROMPTS[(first + i) % PROMPTS.length], maxNewTokens)));
  const wallMs = performance.now() - t0;
  return { samples, wallMs, cpuSeconds: cpuSeconds(target.pid) - cpuBefore };
}

/**
 * Rounds at every concurrency on every target, taking turns (round 1 at 1, 2, 4, 8 streams on
 * each, then round 2 …), so a slower stretch of the machine falls on all rows alike rather than
 * on whichever row ran then: the "× vs 1 stream" ratios compare like with like.
 */
async function measureStreams(targets: Running[], maxNewTokens: number): Promise<Figures[][]> {
  const rows = targets.map(() => CONCURRENCY.map(() => ({ rates: [] as number[], firsts: [] as number[], cpu: 0 })));
  for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
    for (const [ci, concurrency] of CONCURRENCY.entries()) {
      for (const [ti, target] of targets.entries()) {
        const { samples, wallMs, cpuSeconds: cpu } = await round(target, concurrency, maxNewTokens, r);
        if (r < WARMUP_ROUNDS) continue;
        const row = rows[ti][ci];
        row.rates.push((samples.reduce((sum, s) => sum + s.tokens, 0) / wallMs) * 1000);
        row.firsts.push(...samples.map((s) => s.firstTokenMs));
        row.cpu += cpu;
      }
    }
  }
  return rows.map((byConcurrency) =>
    byConcurrency.map((row, ci) => ({
      tokensPerSecond: percentile(row.rates, 50),
      tokensPerCpuSecond: (ROUNDS * CONCURRENCY[ci] * maxNewTokens) / row.cpu,
      ttftP50: percentile(row.firsts, 50),
      ttftP95: percentile(row.firsts, 95),
    })),
  );
}

/** Runs `run` against a fresh container of `model` started with `env`, and stops it. */
async function withContainer<T>(
  model: BenchModel,
  env: Record<string, string>,
  run: (url: string, pid: number, output: () => string) => Promise<T>,
): Promise<T> {
  const port = await freePort();
  let output = '';
  const proc = startContainerProcess({
    port,
    env: {
      HF_MODEL_ID: model.modelId,
      LLMOPS_MODELS_DIRS: modelsDirs().join(delimiter),
      LLMOPS_MODEL_THREADS: THREADS,
      LOG_LEVEL: 'warn',
      ...env,
    },
    onOutput: (chunk) => (output += chunk),
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntil('model container', async () => (await fetch(`${url}/ping`)).status === 200, { timeoutMs: 120_000, process: proc });
    return await run(url, proc.child.pid!, () => output);
  } catch (err) {
    console.error(output);
    throw err;
  } finally {
    await proc.stop();
  }
}

/** One container decoding one request at a time (MAX_BATCH_SIZE=1) and one batching up to 8, both running, measured in turns. */
function benchBatching(model: BenchModel): Promise<{ sequential: Figures[]; batched: Figures[]; json: { plain: number; detailed: number } }> {
  // Room for the prompt and the generation and no more: every sequence allocates this many KV cells.
  const env = { MAX_TOTAL_TOKENS: '512', MAX_INPUT_LENGTH: '256' };
  return withContainers(model, env, [{ MAX_BATCH_SIZE: '1' }, { MAX_BATCH_SIZE: '8' }], async (containers) => {
    const [sequential, batched] = await measureStreams(containers, model.maxNewTokens);
    return { sequential, batched, json: await measureJson(containers[1].url, model.maxNewTokens) };
  });
}

/** One prompt evaluated and one token generated: the prompt's evaluation time, and its length in tokens. */
async function evaluatePrompt(url: string, inputs: string): Promise<{ ms: number; tokens: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ inputs, parameters: { max_new_tokens: 1, details: true, decoder_input_details: true } }),
  });
  if (res.status !== 200) throw new Error(`container answered ${res.status}: ${await res.text()}`);
  const [out] = (await res.json()) as [{ details: { prefill: unknown[] } }];
  return { ms: performance.now() - t0, tokens: out.details.prefill.length };
}

/** The attention set-ups the prompt rows compare: node-llama-cpp's default last. */
const ATTENTION_SETUPS: AttentionSetup[] = [
  { flashAttention: false, kvCacheType: 'f16' },
  { flashAttention: false, kvCacheType: 'f32' },
  { flashAttention: true, kvCacheType: 'f16' },
];

function setupLabel({ flashAttention, kvCacheType }: AttentionSetup): string {
  return `flash attention ${flashAttention ? 'on' : 'off'}, ${kvCacheType} KV`;
}

interface PromptFigures {
  headSize: number;
  tokens: number;
  /** p50 ms per ATTENTION_SETUPS entry. */
  p50: number[];
}

/** Runs `run` with one container of `model` per entry of `envs` (each over `env`), all started before it runs; `output` is the first one's. */
function withContainers<T>(
  model: BenchModel,
  env: Record<string, string>,
  envs: Array<Record<string, string>>,
  run: (containers: Running[], output: () => string) => Promise<T>,
): Promise<T> {
  const [first, ...rest] = envs;
  if (!first) return run([], () => '');
  return withContainer(model, { ...env, ...first }, (url, pid, output) => withContainers(model, env, rest, (others) => run([{ url, pid }, ...others], output)));
}

/**
 * Long prompts through one container per attention set-up, taking turns. Each round's prompt
 * starts differently, so no sequence reuses an earlier round's KV.
 */
function measurePrompts(model: BenchModel): Promise<PromptFigures[]> {
  const env = { MAX_BATCH_SIZE: '1', MAX_TOTAL_TOKENS: '2048', MAX_INPUT_LENGTH: '2000', LOG_LEVEL: 'info' };
  return withContainers(model, env, ATTENTION_SETUPS.map(attentionSetupEnv), async (containers, output) => {
    const urls = containers.map((c) => c.url);
    const loaded = output()
      .split('\n')
      .find((line) => line.includes('"model loaded"'));
    const headSize = (JSON.parse(loaded ?? '{}') as { attentionHeadSize?: number }).attentionHeadSize ?? Number.NaN;
    const figures: PromptFigures[] = [];
    for (const sentences of model.promptSentences) {
      const samples: number[][] = urls.map(() => []);
      let tokens = 0;
      for (let round = 0; round < 1 + ROUNDS; round++) {
        const inputs = `${round}. ${Array.from({ length: sentences }, (_, i) => PROMPTS[i % PROMPTS.length]).join(' and then ')}.`;
        for (const [i, url] of urls.entries()) {
          const { ms, tokens: evaluated } = await evaluatePrompt(url, inputs);
          tokens = evaluated;
          if (round > 0) samples[i].push(ms);
        }
      }
      figures.push({ headSize, tokens, p50: samples.map((s) => percentile(s, 50)) });
    }
    return figures;
  });
}

async function main(): Promise<void> {
  const wanted = settings.BENCH_MODELS;
  const promptRows: string[][] = [];
  for (const name of wanted) {
    const model = MODELS[name];
    if (!model) throw new Error(`BENCH_MODELS: unknown model ${name} (known: ${Object.keys(MODELS).join(', ')})`);
    if (!available(model.modelId)) {
      console.log(`${model.label}: not in ${modelsDirs().join(', ')}; skipped\n`);
      continue;
    }
    const { sequential, batched, json } = await benchBatching(model);
    const rows = CONCURRENCY.map((c, i) => [
      String(c),
      sequential[i].tokensPerSecond.toFixed(0),
      batched[i].tokensPerSecond.toFixed(0),
      (batched[i].tokensPerSecond / batched[0].tokensPerSecond).toFixed(2),
      sequential[i].tokensPerCpuSecond.toFixed(0),
      batched[i].tokensPerCpuSecond.toFixed(0),
      (batched[i].tokensPerCpuSecond / batched[0].tokensPerCpuSecond).toFixed(2),
      `${sequential[i].ttftP50.toFixed(1)} ms`,
      `${batched[i].ttftP50.toFixed(1)} ms`,
      `${batched[i].ttftP95.toFixed(1)} ms`,
    ]);
    // A streamed token always carries its logprob (TGI's event has the field); a JSON answer
    // needs it only with details, and computing it sorts the vocabulary at every step.
    publishBench(`model-server-${name}`, {
      title: `Continuous batching in one model process: ${model.label}`,
      method:
        `bench/model-server.ts: two processes, ${THREADS} thread(s) each, one-at-a-time = MAX_BATCH_SIZE=1, batched = MAX_BATCH_SIZE=8; greedy, ignore_eos, max_new_tokens=${model.maxNewTokens}; ` +
        `${ROUNDS} rounds per row after ${WARMUP_ROUNDS} warm-up rounds, every row's round in turn (both processes, 1 to 8 streams) before the next round; tokens/s = all streams' tokens / round wall time (p50 of rounds); tokens per CPU-second of the container process from /proc. ` +
        `One JSON answer at a time, p50 ms per token: without details ${json.plain.toFixed(1)}, with details (token logprobs) ${json.detailed.toFixed(1)} (${(json.detailed / json.plain).toFixed(2)}×).`,
      columns: [
        'streams',
        'tok/s one-at-a-time',
        'tok/s batched',
        '× vs 1 stream',
        'tok/CPU-s one-at-a-time',
        'tok/CPU-s batched',
        '× vs 1 stream',
        'TTFT p50 one-at-a-time',
        'TTFT p50 batched',
        'TTFT p95 batched',
      ],
      rows,
      figures: { sequential, batched, json },
    });
    for (const p of await measurePrompts(model)) {
      const chosen = attentionSetup(p.headSize, { flashAttention: 'auto', kvCacheType: 'auto' });
      const chosenIndex = ATTENTION_SETUPS.findIndex((a) => a.flashAttention === chosen.flashAttention && a.kvCacheType === chosen.kvCacheType);
      const nodeLlamaCppDefault = p.p50[ATTENTION_SETUPS.length - 1];
      promptRows.push([
        model.label,
        String(p.headSize),
        String(p.tokens),
        ...p.p50.map((ms) => ms.toFixed(1)),
        setupLabel(chosen),
        (p.p50[chosenIndex] / nodeLlamaCppDefault).toFixed(2),
      ]);
    }
  }
  if (promptRows.length === 0) return;
  publishBench('model-server-prompts', {
    title: 'Prompt evaluation by attention set-up (flash attention, KV cache type)',
    method: `bench/model-server.ts: one prompt and one generated token per request, ${THREADS} thread(s), MAX_BATCH_SIZE=1; one container of the model per set-up (LLMOPS_FLASH_ATTENTION, LLMOPS_KV_CACHE_TYPE), taking turns, ${ROUNDS} rounds after one warm-up, each round's prompt new to the container (no KV reuse). Unset, the container picks by attention head size (attentionSetup in local/model-server/text-generator.ts); the last set-up is node-llama-cpp's own default.`,
    columns: [
      'model',
      'attention head size',
      'prompt tokens',
      ...ATTENTION_SETUPS.map((a) => `${setupLabel(a)} p50 ms`),
      'the default picks',
      'picked / node-llama-cpp default',
    ],
    rows: promptRows,
  });
}
main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
