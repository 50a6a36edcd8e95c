// Stepping a token at a time must not grow the process: node-llama-cpp's controlledEvaluate
// made a sampler per call, whose vocabulary-sized buffer (Gemma 3: 262k candidates x 12 B, about
// 3 MB) outlives dispose() until garbage collection, so 300 steps took about 1 GB before
// patches/node-llama-cpp+3.22.1.patch gave each sequence one sampler. Gemma 3 270M (the answer
// model from setup) through TextGenerator; a memory bound, no timings.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelsDirs } from '../../common/project-paths.js';
import { resolveModelFile } from '../../local/model-server/gguf-lookup.js';
import { TextGenerator } from '../../local/model-server/text-generator.js';

const STEPS = 300;

let generator: TextGenerator;
beforeAll(async () => {
  generator = await TextGenerator.load({
    modelPath: resolveModelFile({ modelId: 'google/gemma-3-270m', dirs: modelsDirs() }),
    threads: 1,
    layout: () => ({ contextSize: 512, sequences: 1, maxBatchTotalTokens: 512 }),
    logger: pino({ level: 'silent' }),
  });
});
afterAll(() => generator?.dispose());

async function generate(maxNewTokens: number, logprobs: boolean): Promise<number> {
  const it = generator.generate({
    input: generator.tokenize('Once upon a time'),
    maxNewTokens,
    ignoreEos: true,
    repetitionPenalty: 1,
    frequencyPenalty: 0,
    stop: [],
    topN: 0,
    logprobs,
  });
  let next = await it.next();
  while (!next.done) next = await it.next();
  return next.value.generatedTokens;
}

describe('native memory per generated token', () => {
  it(`stays flat over ${STEPS} steps (well under one vocabulary buffer per step)`, async () => {
    await generate(16, true); // warm: the sequence's sampler and the context's buffers exist
    const before = process.memoryUsage().rss;
    expect(await generate(STEPS, true)).toBe(STEPS);
    const grown = process.memoryUsage().rss - before;
    const perStepBuffer = 262_144 * 12;
    expect(grown).toBeLessThan((STEPS * perStepBuffer) / 10);
  }, 120_000);
});
