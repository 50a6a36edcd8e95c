// Which free sequence of the context a request takes. Two things ride on it: whether an earlier
// prompt's KV is reused, and how many forward passes each batched decode step costs. A
// node-llama-cpp context keeps one KV stream per sequence, and llama.cpp decodes a batch in one
// pass only over a run of consecutive sequence ids (llama_batch_allocr::split_equal starts a new
// pass at any other id; see decode-lockstep.ts for the order), so four requests on sequences 0-3
// decode in one pass and on 1, 3, 5 and 7 in four (gemma-3-270m, one thread: 36 vs 100 ms a step).

/** A free sequence as the choice sees it. */
export interface FreeSequence {
  /** The sequence's id in the context (its KV stream). */
  id: number;
  /** How many leading tokens of the new prompt it already holds. */
  shared: number;
}

/** How much of a prompt a free sequence must already hold for the request to take that sequence. */
export const REUSE_SHARE = 0.5;

/**
 * Index into `free` (ordered least recently used first: released sequences go to the back) of
 * the sequence a request with a `promptLength`-token prompt takes while the sequences `running`
 * decode:
 * 1. the one already holding the longest prefix of the prompt, when that covers at least half of
 *    it (its KV is reused: a repeated prompt, the next turn of a conversation). Taking the
 *    longest share whatever its size would throw away a recent prompt's KV to save the few
 *    tokens of a shared template or BOS, so the prompt that follows it up recomputes;
 * 2. otherwise one next to the most running sequences (bridging a gap between two runs of ids
 *    beats extending one, which beats starting a new run), so a step takes as few passes as it can;
 * 3. among those, the one used longest ago, as vLLM's prefix cache evicts its least recently
 *    used blocks; with nothing running that is the choice.
 */
export function chooseSequence(free: readonly FreeSequence[], running: ReadonlySet<number>, promptLength: number): number {
  let reuse = 0;
  for (const [i, seq] of free.entries()) if (seq.shared > free[reuse].shared) reuse = i;
  if (free.length > 0 && free[reuse].shared > 0 && free[reuse].shared >= promptLength * REUSE_SHARE) return reuse;

  let best = 0;
  let bestNeighbours = -1;
  for (const [i, { id }] of free.entries()) {
    const neighbours = Number(running.has(id - 1)) + Number(running.has(id + 1));
    if (neighbours > bestNeighbours) [best, bestNeighbours] = [i, neighbours];
  }
  return best;
}
