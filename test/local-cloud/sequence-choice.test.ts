// Which free sequence a request takes: prefix reuse first, then the one beside the most running
// sequences (so a batched step is one forward pass: llama.cpp splits a batch at any id that does
// not follow on), then the one used longest ago. Pure function, no model.
import { describe, expect, it } from 'vitest';
import { chooseSequence, type FreeSequence } from '../../local/model-server/sequence-choice.js';

const free = (...ids: number[]): FreeSequence[] => ids.map((id) => ({ id, shared: 0 }));

describe('chooseSequence', () => {
  it('takes the least recently used free sequence when nothing runs and nothing is reusable', () => {
    expect(chooseSequence(free(5, 2, 7), new Set(), 20)).toBe(0);
  });

  it('takes the sequence holding at least half the prompt, wherever it sits', () => {
    const candidates = [
      { id: 1, shared: 3 },
      { id: 6, shared: 12 },
      { id: 4, shared: 0 },
    ];
    expect(chooseSequence(candidates, new Set([3, 5]), 20)).toBe(1);
  });

  it('does not take a short shared prefix (a template, the BOS) over a neighbour of the running ones', () => {
    const candidates = [
      { id: 6, shared: 2 },
      { id: 1, shared: 0 },
    ];
    expect(chooseSequence(candidates, new Set([0]), 20)).toBe(1);
  });

  it('extends a run of running sequences rather than starting a new one', () => {
    // 0 and 1 run; 5 was used longest ago, but 2 keeps the ids consecutive.
    expect(chooseSequence(free(5, 2, 7), new Set([0, 1]), 20)).toBe(1);
  });

  it('bridges a gap between two runs before extending one', () => {
    // 0-1 and 3 run: 2 joins them into one run, 4 only extends the second.
    expect(chooseSequence(free(4, 2, 6), new Set([0, 1, 3]), 20)).toBe(1);
  });

  it('breaks a tie between equal neighbours by least recent use', () => {
    expect(chooseSequence(free(3, 1), new Set([2]), 20)).toBe(0);
  });
});
