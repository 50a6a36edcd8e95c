// Keeps the running requests in step so that node-llama-cpp decodes them in one batch.
// node-llama-cpp batches whatever sequences have queued a decode when its dispatch runs, but
// each sequence samples its token asynchronously (on the libuv pool), so the sequences come
// back at slightly different moments: left alone, one re-queues while its neighbours are still
// sampling, its dispatch loop decodes it alone, and the batch splinters into batches of one
// that take turns (measured: 2 streams → 254 decodes of 1 token for 256 tokens). Here every
// request, once it has its token, waits until each running request has its own (or has
// ended); then all of them ask for the next token in the same turn of the event loop.
// A newcomer's prompt is evaluated within one such step, so running requests pause for a long
// prompt's prefill, as TGI's router pauses decoding to prefill a new batch.
// They ask in the order of their sequence ids: with a KV stream per sequence, llama.cpp decodes
// a batch in one forward pass only while its sequences come in increasing, consecutive id order
// (llama_batch_allocr::split_equal starts a new pass at any other id), so sequences 3, 2, 1, 0
// cost four passes where 0, 1, 2, 3 cost one (gemma-3-270m, one thread: 100 vs 36 ms a step).

export class DecodeLockstep {
  /** Each running request and the id of its sequence, the order it asks for its next token in. */
  private readonly participants = new Map<symbol, number>();
  private arrived = new Map<symbol, () => void>();
  private releaseScheduled = false;

  /** A request that decodes from now on; it takes part in every step until it leaves. */
  join(sequenceId: number): symbol {
    const id = Symbol('request');
    this.participants.set(id, sequenceId);
    return id;
  }

  leave(id: symbol): void {
    this.participants.delete(id);
    this.arrived.get(id)?.();
    this.arrived.delete(id);
    this.maybeRelease();
  }

  /** Resolves when every participant has arrived for this step. */
  arrive(id: symbol): Promise<void> {
    return new Promise((resolve) => {
      this.arrived.set(id, resolve);
      this.maybeRelease();
    });
  }

  private maybeRelease(): void {
    if (this.releaseScheduled || this.arrived.size === 0 || this.arrived.size < this.participants.size) return;
    this.releaseScheduled = true;
    // On the next turn, so node-llama-cpp's dispatch loop for the step just done has finished
    // and the decodes all queue for one fresh dispatch.
    setImmediate(() => {
      this.releaseScheduled = false;
      const waiting = [...this.arrived].sort(([a], [b]) => (this.participants.get(a) ?? 0) - (this.participants.get(b) ?? 0));
      this.arrived = new Map();
      for (const [, resolve] of waiting) resolve();
    });
  }
}
