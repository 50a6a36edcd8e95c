// Continuous batching in a real model container process: requests that arrive together are
// decoded together and each still gets the text it would get alone (greedy); over TGI's
// limits a request waits for a place in the batch (MAX_BATCH_SIZE) or is refused with TGI's
// 429 (MAX_CONCURRENT_REQUESTS).
import { beforeAll, describe, expect, it } from 'vitest';
import { generate, invoke, launchContainer, PROMPT, startContainer, type StartedContainer } from './container-process.js';
import { parseSse, streamedText, type TgiStreamEvent } from './sse.js';

const PROMPTS = [
  PROMPT,
  'The little dog ran',
  'Lily and Ben went to',
  'One day a bird',
  'Tom had a red ball',
  'The sun was hot',
  'Mom said',
  'There was a big tree',
];

/** Opens a stream and resolves once its first event has arrived; `rest` drains it. */
async function openStream(url: string, body: unknown) {
  const res = await fetch(`${url}/invocations`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  while (!text.includes('\n\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  const rest = (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += r.value;
    return parseSse(text) as TgiStreamEvent[];
  })();
  return { rest };
}

describe('model container batching', () => {
  let tgi: StartedContainer;
  beforeAll(async () => {
    tgi = await startContainer({ MAX_BATCH_SIZE: '4' });
  });

  it('completes concurrent requests, more than the batch holds, each with the text it gets alone', async () => {
    const alone: string[] = [];
    for (const inputs of PROMPTS) alone.push((await generate(tgi.url, { max_new_tokens: 40 }, inputs))[0].generated_text);
    const together = await Promise.all(PROMPTS.map((inputs) => generate(tgi.url, { max_new_tokens: 40 }, inputs)));
    expect(together.map(([out]) => out.generated_text)).toEqual(alone);
  });

  it('gives a streamed and a non-streamed request decoded together the same text as alone', async () => {
    const parameters = { max_new_tokens: 60, details: true };
    const [streamAlone] = await generate(tgi.url, parameters, PROMPTS[1]);
    const [jsonAlone] = await generate(tgi.url, parameters, PROMPTS[2]);
    const [streamed, json] = await Promise.all([invoke(tgi.url, { inputs: PROMPTS[1], parameters, stream: true }), generate(tgi.url, parameters, PROMPTS[2])]);
    const events = parseSse(streamed.text) as TgiStreamEvent[];
    expect(streamedText(events)).toBe(streamAlone.generated_text);
    expect(events.at(-1)!.generated_text).toBe(streamAlone.generated_text);
    expect(json[0].generated_text).toBe(jsonAlone.generated_text);
    const ids = (tokens: Array<{ id: number }>) => tokens.map((t) => t.id);
    expect(ids(json[0].details!.tokens)).toEqual(ids(jsonAlone.details!.tokens));
    // A batch sums in another order than one sequence alone, so log-probabilities may differ in
    // the third decimal (as on a GPU under batching), never in which token wins.
    for (const [i, token] of json[0].details!.tokens.entries()) expect(token.logprob).toBeCloseTo(jsonAlone.details!.tokens[i].logprob, 2);
  });

  it('keeps generating past end-of-sequence to max_new_tokens with the local-only ignore_eos', async () => {
    // Greedy TinyStories loops without ever ending; near-uniform sampling reaches EOS after a
    // few hundred tokens for most seeds, and the same seed replays the same tokens up to it.
    // Which seeds end differs between CPUs (their kernels round differently), so take the first
    // that does here. The prompt is evaluated once first: a prompt evaluated afresh and one
    // reused from the context's cache differ in the last bits, which near-uniform sampling can
    // turn into another token, so every request below starts from the cached prompt.
    await generate(tgi.url, { max_new_tokens: 1 });
    let natural: Awaited<ReturnType<typeof generate>>[number] | undefined;
    let sampling: Record<string, unknown> = {};
    for (let seed = 1; seed <= 8 && natural?.details!.finish_reason !== 'eos_token'; seed++) {
      sampling = { do_sample: true, temperature: 50, seed, details: true };
      [natural] = await generate(tgi.url, { ...sampling, max_new_tokens: 1500 });
    }
    expect(natural!.details!.finish_reason, 'no seed of 1–8 reached EOS within 1500 tokens').toBe('eos_token');
    const beyond = natural!.details!.generated_tokens + 20;
    const [forced] = await generate(tgi.url, { ...sampling, max_new_tokens: beyond, ignore_eos: true });
    expect(forced.details!.finish_reason).toBe('length');
    expect(forced.details!.generated_tokens).toBe(beyond);
    expect(forced.generated_text.startsWith(natural!.generated_text)).toBe(true);
  });
});

describe('model container limits on concurrent requests (MAX_BATCH_SIZE / MAX_CONCURRENT_REQUESTS)', () => {
  let tgi: StartedContainer;
  beforeAll(async () => {
    tgi = await startContainer({ MAX_BATCH_SIZE: '1', MAX_CONCURRENT_REQUESTS: '2' });
  });

  it('queues a request while the batch is full and refuses one beyond MAX_CONCURRENT_REQUESTS with TGI’s 429', async () => {
    const [expected] = await generate(tgi.url, { max_new_tokens: 20 }, PROMPTS[3]);
    // A long generation holds the only place in the batch while the others arrive.
    const long = await openStream(tgi.url, { inputs: PROMPT, parameters: { max_new_tokens: 2000, ignore_eos: true }, stream: true });
    const others = await Promise.all([0, 1].map(() => invoke(tgi.url, { inputs: PROMPTS[3], parameters: { max_new_tokens: 20 } })));
    expect(others.map((r) => r.status).sort()).toEqual([200, 429]);
    const refused = others.find((r) => r.status === 429)!;
    expect(refused.json()).toEqual({ error: 'Model is overloaded', error_type: 'overloaded' });
    const queued = others.find((r) => r.status === 200)!;
    expect(queued.json()[0].generated_text).toBe(expected.generated_text);
    const events = await long.rest;
    expect(events).toHaveLength(2000);
    expect(events.at(-1)!.details).toBeNull();
    expect(events.at(-1)!.generated_text).not.toBeNull();
  });
});

describe('model container batch settings', () => {
  it('refuses to start when MAX_TOTAL_TOKENS exceeds MAX_BATCH_TOTAL_TOKENS, as the TGI launcher does', async () => {
    const container = await launchContainer({ MAX_TOTAL_TOKENS: '512', MAX_INPUT_LENGTH: '256', MAX_BATCH_TOTAL_TOKENS: '256' });
    expect(await container.proc.exited).toBe(1);
    expect(container.output()).toContain('`max_total_tokens` must be <= `max_batch_total_tokens`. Given: 512 and 256');
  });
});
