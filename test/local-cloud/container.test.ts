// A real model container process with the tiny TinyStories model, spoken to over HTTP the way
// SageMaker and TGI clients speak to it.
import { beforeAll, describe, expect, it } from 'vitest';
import { modelsDirs } from '../../common/project-paths.js';
import { generate, invoke, launchContainer, PROMPT, startContainer, type StartedContainer } from './container-process.js';
import { parseSse, streamedText, type TgiStreamEvent } from './sse.js';
import { attentionSetup } from '../../local/model-server/text-generator.js';

describe('model container (TGI stand-in)', () => {
  let tgi: StartedContainer;
  beforeAll(async () => {
    tgi = await startContainer({ LLMOPS_INSTANCE_ID: 'i-test' });
  });

  it('answers /ping with 200 once loaded and names the instance', async () => {
    const res = await fetch(`${tgi.url}/ping`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-local-instance')).toBe('i-test');
    expect(Number(res.headers.get('x-local-pid'))).toBe(tgi.proc.child.pid);
  });

  it('returns [{generated_text}] and decodes greedily by default (same output twice)', async () => {
    const first = await generate(tgi.url, { max_new_tokens: 30 });
    const second = await generate(tgi.url, { max_new_tokens: 30 });
    expect(first).toHaveLength(1);
    expect(first[0].generated_text.length).toBeGreaterThan(0);
    expect(first[0].generated_text.startsWith(PROMPT)).toBe(false);
    expect(second[0].generated_text).toBe(first[0].generated_text);
    expect(first[0]).not.toHaveProperty('details');
  });

  it('gives the same greedy text for a prompt whatever ran before it on the process', async () => {
    const [alone] = await generate(tgi.url, { max_new_tokens: 30 });
    await generate(tgi.url, { max_new_tokens: 30 }, 'The little dog ran to the park');
    await generate(tgi.url, { max_new_tokens: 30 }, `${PROMPT} there was a big red ball`);
    const [again] = await generate(tgi.url, { max_new_tokens: 30 });
    expect(again.generated_text).toBe(alone.generated_text);
  });

  it('lists the prompt tokens with decoder_input_details', async () => {
    const res = await invoke(tgi.url, { inputs: PROMPT, parameters: { max_new_tokens: 2, details: true, decoder_input_details: true } });
    const [out] = res.json();
    expect(out.details.prefill).toHaveLength(Number(res.headers.get('x-prompt-tokens')));
    expect(
      out.details.prefill
        .map((t: { text: string }) => t.text)
        .join('')
        .trim(),
    ).toBe(PROMPT);
  });

  it('prepends the prompt with return_full_text', async () => {
    const [plain] = await generate(tgi.url, { max_new_tokens: 20 });
    const [full] = await generate(tgi.url, { max_new_tokens: 20, return_full_text: true });
    expect(full.generated_text).toBe(PROMPT + plain.generated_text);
  });

  it('generates exactly max_new_tokens when nothing stops it earlier, and reports details', async () => {
    const [out] = await generate(tgi.url, { max_new_tokens: 7, details: true });
    expect(out.details!.finish_reason).toBe('length');
    expect(out.details!.generated_tokens).toBe(7);
    expect(out.details!.tokens).toHaveLength(7);
    expect(out.details!.seed).toBeNull();
    expect(out.details!.tokens.map((t: { text: string }) => t.text).join('')).toBe(out.generated_text);
    for (const token of out.details!.tokens) expect(token.logprob).toBeLessThanOrEqual(0);
  });

  it('stops at a stop sequence, keeping it as TGI does', async () => {
    const [unbounded] = await generate(tgi.url, { max_new_tokens: 60 });
    const cut = unbounded.generated_text.indexOf('.');
    expect(cut).toBeGreaterThan(0);
    const [stopped] = await generate(tgi.url, { max_new_tokens: 60, stop: ['.'], details: true });
    expect(stopped.details!.finish_reason).toBe('stop_sequence');
    expect(stopped.generated_text).toBe(unbounded.generated_text.slice(0, cut + 1));
  });

  it('samples reproducibly with a seed', async () => {
    const params = { max_new_tokens: 30, do_sample: true, temperature: 1.2, top_k: 50, seed: 42, details: true };
    const [a] = await generate(tgi.url, params);
    const [b] = await generate(tgi.url, params);
    expect(a.generated_text).toBe(b.generated_text);
    expect(a.details!.seed).toBe(42);
  });

  it('reports the most likely alternatives with top_n_tokens', async () => {
    const [out] = await generate(tgi.url, { max_new_tokens: 3, details: true, top_n_tokens: 2 });
    expect(out.details!.top_tokens).toHaveLength(3);
    for (const [i, alternatives] of out.details!.top_tokens.entries()) {
      expect(alternatives).toHaveLength(2);
      // Greedy decoding picks the most likely token.
      expect(alternatives[0].id).toBe(out.details!.tokens[i].id);
    }
  });

  it('gives each token the log-probability its whole distribution gives, greedy or sampled', async () => {
    // Without top_n_tokens a greedy token's logprob comes from the total logit weight and a
    // sampled one's from node-llama-cpp's confidence; with it, from the full probabilities.
    for (const sampling of [{}, { do_sample: true, temperature: 1.2, seed: 11 }]) {
      const [plain] = await generate(tgi.url, { max_new_tokens: 12, details: true, ...sampling });
      const [full] = await generate(tgi.url, { max_new_tokens: 12, details: true, top_n_tokens: 5, ...sampling });
      const tokens: Array<{ id: number; logprob: number }> = plain.details!.tokens;
      expect(tokens.map((t) => t.id)).toEqual(full.details!.tokens.map((t: { id: number }) => t.id));
      for (const [i, token] of tokens.entries()) {
        expect(token.logprob).toBeCloseTo(full.details!.tokens[i].logprob, 4);
        const listed = full.details!.top_tokens[i].find((t: { id: number }) => t.id === token.id);
        if (listed) expect(token.logprob).toBeCloseTo(listed.logprob, 4);
      }
      expect(tokens.some((t) => t.logprob < -0.01)).toBe(true);
    }
  });

  it('streams TGI server-sent events whose tokens add up to the non-streamed text', async () => {
    const [expected] = await generate(tgi.url, { max_new_tokens: 25 });
    const res = await invoke(tgi.url, { inputs: PROMPT, parameters: { max_new_tokens: 25, details: true }, stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.text.startsWith('data:{')).toBe(true);
    const events = parseSse(res.text) as TgiStreamEvent[];
    expect(events).toHaveLength(25);
    expect(events.map((e) => e.index)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    for (const e of events.slice(0, -1)) {
      expect(e.generated_text).toBeNull();
      expect(e.details).toBeNull();
    }
    const last = events.at(-1)!;
    expect(last.generated_text).toBe(expected.generated_text);
    expect(last.details).toMatchObject({ finish_reason: 'length', generated_tokens: 25, seed: null });
    expect(streamedText(events)).toBe(expected.generated_text);
    // TGI's stream events always carry the token's log-probability, asked for or not.
    for (const e of events) expect(e.token.logprob).toBeLessThanOrEqual(0);
  });

  it('answers validation errors with TGI error bodies and 422', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ temperature: 0 }, '`temperature` must be strictly positive'],
      [{ top_p: 1.0 }, '`top_p` must be > 0.0 and < 1.0'],
      [{ top_k: 0 }, '`top_k` must be strictly positive'],
      [{ repetition_penalty: 0 }, '`repetition_penalty` must be strictly positive'],
      [{ max_new_tokens: 0 }, '`max_new_tokens` must be strictly positive'],
      [{ stop: ['a', 'b', 'c', 'd', 'e'] }, '`stop` supports up to 4 stop sequences. Given: 5'],
      [{ best_of: 2, do_sample: true }, '`best_of` != 1 is not allowed for this endpoint'],
    ];
    for (const [parameters, error] of cases) {
      const res = await invoke(tgi.url, { inputs: PROMPT, parameters });
      expect(res.status).toBe(422);
      expect(res.json()).toEqual({ error, error_type: 'validation' });
    }
    const empty = await invoke(tgi.url, { inputs: '' });
    expect(empty.json()).toEqual({ error: '`inputs` cannot be empty', error_type: 'validation' });
  });

  it('rejects bodies that are not JSON (400) or not a generate request (422), as TGI does', async () => {
    const notJson = await invoke(tgi.url, '{"inputs": ');
    expect(notJson.status).toBe(400);
    expect(notJson.text).toMatch(/^Failed to parse the request body as JSON/);
    const wrongShape = await invoke(tgi.url, { prompt: PROMPT });
    expect(wrongShape.status).toBe(422);
    expect(wrongShape.text).toMatch(/^Failed to deserialize the JSON body into the target type: inputs/);
  });

  it('reports a streaming validation error as an SSE error event, as TGI does', async () => {
    const res = await invoke(tgi.url, { inputs: PROMPT, parameters: { temperature: -1 }, stream: true });
    expect(res.status).toBe(200);
    expect(parseSse(res.text)).toEqual([{ error: '`temperature` must be strictly positive', error_type: 'validation' }]);
  });

  it('answers 404 outside the container contract', async () => {
    expect((await fetch(`${tgi.url}/generate`, { method: 'POST', body: '{}' })).status).toBe(404);
  });
});

describe('model container limits (MAX_INPUT_LENGTH / MAX_TOTAL_TOKENS)', () => {
  let limited: StartedContainer;
  beforeAll(async () => {
    limited = await startContainer({ MAX_INPUT_LENGTH: '8', MAX_TOTAL_TOKENS: '16' });
  });

  it('rejects inputs longer than MAX_INPUT_LENGTH with TGI’s message', async () => {
    const res = await invoke(limited.url, { inputs: 'Once upon a time there was a little girl named Lily', parameters: { max_new_tokens: 1 } });
    expect(res.status).toBe(422);
    expect(res.json().error).toMatch(/^`inputs` must have less than 8 tokens\. Given: \d+$/);
  });

  it('rejects input + max_new_tokens above MAX_TOTAL_TOKENS', async () => {
    const res = await invoke(limited.url, { inputs: PROMPT, parameters: { max_new_tokens: 40 } });
    expect(res.status).toBe(422);
    expect(res.json().error).toMatch(/^`inputs` tokens \+ `max_new_tokens` must be <= 16\. Given: \d+ `inputs` tokens and 40 `max_new_tokens`$/);
  });

  it('caps new tokens at what MAX_TOTAL_TOKENS leaves when max_new_tokens is not given', async () => {
    const res = await invoke(limited.url, { inputs: PROMPT, parameters: { details: true } });
    expect(res.status).toBe(200);
    const [out] = res.json();
    // 'Once upon a time' is 5 tokens with BOS.
    expect(out.details.generated_tokens).toBeLessThanOrEqual(16 - 5);
  });
});

/** The container's "model loaded" log lines (LOG_LEVEL=info), which say how the context was set up. */
function modelLoadedLines(container: StartedContainer): Array<{ flashAttention: boolean; kvCacheType: string; attentionHeadSize: number }> {
  return container
    .output()
    .split('\n')
    .filter((line) => line.includes('"model loaded"'))
    .map((line) => JSON.parse(line));
}

describe('model container attention set-up (LLMOPS_FLASH_ATTENTION, LLMOPS_KV_CACHE_TYPE)', () => {
  // node-llama-cpp turns llama.cpp's flash attention on over an f16 KV cache whatever the model;
  // the container decides by head size unless told (the tiny model's heads are 8 wide: off, f32).
  for (const [env, expected] of [
    [{}, { flashAttention: false, kvCacheType: 'f32' }],
    [{ LLMOPS_FLASH_ATTENTION: 'true' }, { flashAttention: true, kvCacheType: 'f16' }],
    [{ LLMOPS_FLASH_ATTENTION: '0' }, { flashAttention: false, kvCacheType: 'f32' }],
    [{ LLMOPS_KV_CACHE_TYPE: 'F16' }, { flashAttention: false, kvCacheType: 'f16' }],
  ] as const) {
    it(`loads the tiny model with ${JSON.stringify(expected)} when ${JSON.stringify(env)} is set, and serves`, async () => {
      const container = await startContainer({ ...env, LOG_LEVEL: 'info' });
      const res = await invoke(container.url, { inputs: PROMPT, parameters: { max_new_tokens: 4, details: true } });
      expect(res.status).toBe(200);
      expect(res.json()[0].details.generated_tokens).toBeGreaterThan(0);
      const loaded = modelLoadedLines(container);
      expect(loaded).toHaveLength(1);
      expect(loaded[0]).toMatchObject({ ...expected, attentionHeadSize: 8 });
    });
  }

  it("gives Gemma 3 270M's 256-wide heads flash attention over an f16 cache when unset", async () => {
    const container = await startContainer({ HF_MODEL_ID: 'google/gemma-3-270m', MAX_TOTAL_TOKENS: '256', MAX_BATCH_SIZE: '1', LOG_LEVEL: 'info' });
    const loaded = modelLoadedLines(container);
    expect(loaded).toEqual([expect.objectContaining({ flashAttention: true, kvCacheType: 'f16', attentionHeadSize: 256 })]);
  });

  it('turns flash attention on by default only for heads at least 64 wide, and uses an f32 cache only without it', () => {
    const auto = { flashAttention: 'auto', kvCacheType: 'auto' } as const;
    expect([undefined, 8, 32, 63, 64, 128, 256].map((size) => attentionSetup(size, auto))).toEqual([
      ...[undefined, 8, 32, 63].map(() => ({ flashAttention: false, kvCacheType: 'f32' })),
      ...[64, 128, 256].map(() => ({ flashAttention: true, kvCacheType: 'f16' })),
    ]);
    expect(attentionSetup(8, { flashAttention: true, kvCacheType: 'auto' })).toEqual({ flashAttention: true, kvCacheType: 'f16' });
    expect(attentionSetup(256, { flashAttention: false, kvCacheType: 'auto' })).toEqual({ flashAttention: false, kvCacheType: 'f16' });
    expect(attentionSetup(256, { flashAttention: 'auto', kvCacheType: 'f32' })).toEqual({ flashAttention: true, kvCacheType: 'f32' });
  });
});

describe('model container start-up failures', () => {
  it('exits with a reason naming HF_MODEL_ID and the directories searched when the model is missing', async () => {
    const container = await launchContainer({ HF_MODEL_ID: 'nobody/missing-model' });
    expect(await container.proc.exited).toBe(1);
    expect(container.output()).toContain('HF_MODEL_ID=nobody/missing-model');
    for (const dir of modelsDirs()) expect(container.output()).toContain(dir);
  });

  it('refuses an LLMOPS_FLASH_ATTENTION that is neither auto nor a boolean, naming the variable and the values it takes', async () => {
    const container = await launchContainer({ LLMOPS_FLASH_ATTENTION: 'yes' });
    expect(await container.proc.exited).toBe(1);
    expect(container.output()).toContain('LLMOPS_FLASH_ATTENTION=yes must be auto, 1, 0, true or false');
  });

  it('refuses an LLMOPS_KV_CACHE_TYPE other than auto, f16 or f32, naming the variable and the values it takes', async () => {
    const container = await launchContainer({ LLMOPS_KV_CACHE_TYPE: 'q8_0' });
    expect(await container.proc.exited).toBe(1);
    expect(container.output()).toContain('LLMOPS_KV_CACHE_TYPE=q8_0 must be auto, f16 or f32');
  });

  it('refuses to start when MAX_INPUT_LENGTH is not below MAX_TOTAL_TOKENS, as the TGI launcher does', async () => {
    const container = await launchContainer({ MAX_INPUT_LENGTH: '32', MAX_TOTAL_TOKENS: '32' });
    expect(await container.proc.exited).toBe(1);
    expect(container.output()).toContain('`max_input_tokens` must be < `max_total_tokens`');
  });
});
