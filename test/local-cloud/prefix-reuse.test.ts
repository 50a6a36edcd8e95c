// Which sequence of the model process's context a request takes decides whether an earlier
// prompt's KV is reused: a prompt seen before, or one extending it (the next turn of a
// conversation), reuses it even after other prompts have run in between, while a new prompt
// takes the sequence used longest ago instead of destroying a recent prompt's KV for the few
// tokens they share. The real TinyStories model through TextGenerator; counts, no timings.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelsDirs } from '../../common/project-paths.js';
import { resolveModelFile } from '../../local/model-server/gguf-lookup.js';
import { TextGenerator } from '../../local/model-server/text-generator.js';
import { TINY_MODEL_ID } from './support.js';

const SEQUENCES = 3;
const prompts = {
  a: 'Once upon a time there was a little girl named Lily who loved to play in the park with her dog.',
  b: 'Tom had a big red ball and he wanted to share it with his friends at school one sunny day.',
  c: 'The old tree in the garden had a secret door that only the birds knew about and used at night.',
  d: 'Mom baked a cake for the party and everyone in the family came to eat it in the kitchen.',
};

let generator: TextGenerator;
beforeAll(async () => {
  generator = await TextGenerator.load({
    modelPath: resolveModelFile({ modelId: TINY_MODEL_ID, dirs: modelsDirs() }),
    threads: 1,
    layout: () => ({ contextSize: 256, sequences: SEQUENCES, maxBatchTotalTokens: 256 * SEQUENCES }),
    logger: pino({ level: 'silent' }),
  });
});
afterAll(() => generator?.dispose());

/** Generates 8 greedy tokens for `text`; what the result says was reused, and the tokens. */
async function run(text: string): Promise<{ reused: number; input: number; text: string }> {
  const input = generator.tokenize(text);
  const it = generator.generate({ input, maxNewTokens: 8, repetitionPenalty: 1, frequencyPenalty: 0, stop: [], topN: 0, logprobs: false });
  let next = await it.next();
  while (!next.done) next = await it.next();
  return { reused: next.value.reusedPromptTokens, input: input.length, text: next.value.text };
}

describe('prompt KV reuse across requests', () => {
  it('reuses a prompt seen before although other prompts ran in between, while sequences are free', async () => {
    const first = await run(prompts.a);
    expect(first.reused).toBe(0);
    // b shares only the BOS token (and perhaps a word) with a: it must not take a's sequence.
    expect((await run(prompts.b)).reused).toBeLessThan(first.input / 2);
    const again = await run(prompts.a);
    // All but the last prompt token, which is evaluated again for the first new token's logits.
    expect(again.reused).toBe(first.input - 1);
    expect(again.text).toBe(first.text);
  });

  it('reuses the previous turn for a prompt that extends it (a conversation)', async () => {
    const turn1 = await run(prompts.c);
    await run(prompts.d);
    const turn2 = await run(`${prompts.c}${turn1.text} Then`);
    expect(turn2.reused).toBeGreaterThanOrEqual(turn1.input - 2);
  });

  it('gives a new prompt the sequence used longest ago, so the most recent prompts stay reusable', async () => {
    // SEQUENCES prompts fill every sequence; one more, sharing its first words with the newest
    // only, evicts the oldest: taking the longest share would have destroyed the newest.
    const order = [prompts.a, prompts.b, prompts.c].map((p, i) => `Story ${i}: ${p}`);
    for (const p of order) await run(p);
    await run(`Story 2: ${prompts.d}`);
    const newest = await run(order[2]);
    expect(newest.reused).toBe(newest.input - 1);
  });
});
