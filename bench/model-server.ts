// What continuous batching buys one model process: aggregate tokens/s and time to first token
// with 1, 2, 4 and 8 concurrent streams, for the same process decoding one request at a time
// (MAX_BATCH_SIZE=1) and batching them (MAX_BATCH_SIZE=8), side by side. Generation is
// deterministic (greedy, `ignore_eos`, a fixed max_new_tokens), so every request does the same
// work. On a shared machine wall-clock rates swing with other load, so each row also gives
// tokens per CPU-second of the container process (from /proc), which batching raises whatever
// else runs. Then one JSON answer at a time with and without `details`: only the detailed one
// pays for token log-probabilities. Last, long prompts with llama.cpp's flash attention off and
// on, which is what the container's default (by attention head size) rests on. Loopback only; prints figures and writes them (bench/report.ts),
// asserts nothing.
//   npx tsx bench/model-server.ts   (BENCH_ROUNDS=5, BENCH_THREADS=1, BENCH_MODELS=tiny,gemma)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { modelsDirs } from '../common/project-paths.js';
import { freePort, waitUntil } from '../dev/processes.js';
import { startContainerProcess } from '../local/model-server/launch.js';
import { flashAttentionPaysOff } from '../local/model-server/text-generator.js';
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

/** Rounds of `concurrency` simultaneous streams; tokens/s over each round's wall time. */
async function measure(url: string, pid: number, concurrency: number, maxNewTokens: number): Promise<Figures> {
  const rates: number[] = [];
  const firsts: number[] = [];
  let cpuAtStart = 0;
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    if (round === WARMUP_ROUNDS) cpuAtStart = cpuSeconds(pid);
    const t0 = performance.now();
    const samples = await Promise.all(Array.from({ length: concurrency }, (_, i) => stream(url, PROMPTS[(round + i) % PROMPTS.length], maxNewTokens)));
    const wallMs = performance.now() - t0;
    if (round < WARMUP_ROUNDS) continue;
    rates.push((samples.reduce((sum, s) => sum + s.tokens, 0) / wallMs) * 1000);
    firsts.push(...samples.map((s) => s.firstTokenMs));
  }
  const cpu = cpuSeconds(pid) - cpuAtStart;
  return {
    tokensPerSecond: percentile(rates, 50),
    tokensPerCpuSecond: (ROUNDS * concurrency * maxNewTokens) / cpu,
    ttftP50: percentile(firsts, 50),
    ttftP95: percentile(firsts, 95),
  };
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

function benchProcess(model: BenchModel, maxBatchSize: number): Promise<{ streams: Figures[]; json: { plain: number; detailed: number } }> {
  // Room for the prompt and the generation and no more: every sequence allocates this many KV cells.
  const env = { MAX_BATCH_SIZE: String(maxBatchSize), MAX_TOTAL_TOKENS: '512', MAX_INPUT_LENGTH: '256' };
  return withContainer(model, env, async (url, pid) => {
    const streams: Figures[] = [];
    for (const concurrency of CONCURRENCY) streams.push(await measure(url, pid, concurrency, model.maxNewTokens));
    return { streams, json: await measureJson(url, model.maxNewTokens) };
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

interface PromptFigures {
  headSize: number;
  tokens: number;
  offP50: number;
  onP50: number;
}

/**
 * Long prompts through two containers, flash attention off (the default) and on, taking turns.
 * Each round's prompt starts differently, so no sequence reuses an earlier round's KV.
 */
function measurePrompts(model: BenchModel): Promise<PromptFigures[]> {
  const env = { MAX_BATCH_SIZE: '1', MAX_TOTAL_TOKENS: '2048', MAX_INPUT_LENGTH: '2000', LOG_LEVEL: 'info' };
  return withContainer(model, { ...env, LLMOPS_FLASH_ATTENTION: '0' }, (off, _, output) =>
    withContainer(model, { ...env, LLMOPS_FLASH_ATTENTION: '1' }, async (on) => {
      const loaded = output()
        .split('\n')
        .find((line) => line.includes('"model loaded"'));
      const headSize = (JSON.parse(loaded ?? '{}') as { attentionHeadSize?: number }).attentionHeadSize ?? Number.NaN;
      const figures: PromptFigures[] = [];
      for (const sentences of model.promptSentences) {
        const off_: number[] = [];
        const on_: number[] = [];
        let tokens = 0;
        for (let round = 0; round < 1 + ROUNDS; round++) {
          const inputs = `${round}. ${Array.from({ length: sentences }, (_, i) => PROMPTS[i % PROMPTS.length]).join(' and then ')}.`;
          const a = await evaluatePrompt(off, inputs);
          const b = await evaluatePrompt(on, inputs);
          tokens = a.tokens;
          if (round === 0) continue;
          off_.push(a.ms);
          on_.push(b.ms);
        }
        figures.push({ headSize, tokens, offP50: percentile(off_, 50), onP50: percentile(on_, 50) });
      }
      return figures;
    }),
  );
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
    const { streams: sequential } = await benchProcess(model, 1);
    const { streams: batched, json } = await benchProcess(model, 8);
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
        `bench/model-server.ts: 1 process, ${THREADS} thread(s), one-at-a-time = MAX_BATCH_SIZE=1, batched = MAX_BATCH_SIZE=8; greedy, ignore_eos, max_new_tokens=${model.maxNewTokens}; ` +
        `${ROUNDS} rounds per row after ${WARMUP_ROUNDS} warm-up rounds; tokens/s = all streams' tokens / round wall time (p50 of rounds); tokens per CPU-second of the container process from /proc. ` +
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
      promptRows.push([
        model.label,
        String(p.headSize),
        String(p.tokens),
        p.offP50.toFixed(1),
        p.onP50.toFixed(1),
        (p.onP50 / p.offP50).toFixed(2),
        flashAttentionPaysOff(p.headSize) ? 'on' : 'off',
      ]);
    }
  }
  if (promptRows.length === 0) return;
  publishBench('model-server-prompts', {
    title: 'Prompt evaluation with and without flash attention',
    method: `bench/model-server.ts: one prompt and one generated token per request, ${THREADS} thread(s), MAX_BATCH_SIZE=1; two containers of the model, LLMOPS_FLASH_ATTENTION=0 and 1, taking turns, ${ROUNDS} rounds after one warm-up, each round's prompt new to the container (no KV reuse). Unset, the container turns it on for heads at least 64 wide (local/model-server/text-generator.ts).`,
    columns: ['model', 'attention head size', 'prompt tokens', 'flash attention off p50 ms', 'on p50 ms', 'on / off', 'the default picks'],
    rows: promptRows,
  });
}
main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
