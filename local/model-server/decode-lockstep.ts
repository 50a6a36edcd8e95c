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

export class DecodeLockstep {
  private readonly participants = new Set<symbol>();
  private arrived = new Map<symbol, () => void>();
  private releaseScheduled = false;

  /** A request that decodes from now on; it takes part in every step until it leaves. */
  join(): symbol {
    const id = Symbol('request');
    this.participants.add(id);
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
      const waiting = [...this.arrived.values()];
      this.arrived = new Map();
      for (const resolve of waiting) resolve();
    });
  }
}
