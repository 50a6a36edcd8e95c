// Which requests join the running batch, as TGI's router decides it: first come, first served,
// while a free sequence is left and the batch's token budget (the sum of each running request's
// prompt + max_new_tokens, TGI's MAX_BATCH_TOTAL_TOKENS) holds the newcomer. The rest wait in
// order; the head of the queue is never overtaken, so a long request cannot starve.

export interface Admitted<S> {
  slot: S;
  /** Gives the slot and the tokens back; the next waiting requests are admitted at once. */
  release(): void;
}

interface Waiter<S> {
  tokens: number;
  pick: (free: readonly S[]) => number;
  admit: (admitted: Admitted<S>) => void;
}

export class RequestAbortedError extends Error {
  constructor() {
    super('the request was aborted while it waited for a place in the batch');
    this.name = 'RequestAbortedError';
  }
}

export class BatchAdmission<S> {
  private readonly free: S[];
  private readonly waiting: Waiter<S>[] = [];
  private tokensInUse = 0;
  private runningCount = 0;

  constructor(
    slots: readonly S[],
    private readonly maxBatchTotalTokens: number,
  ) {
    this.free = [...slots];
  }

  /** Requests decoding now. */
  get running(): number {
    return this.runningCount;
  }

  /** Requests waiting for a place. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves once the request is in the batch. `pick` chooses among the free slots (the one that
   * already holds the longest shared prefix, say). Rejects with RequestAbortedError when
   * `signal` aborts first.
   */
  admit(tokens: number, pick: (free: readonly S[]) => number, signal?: AbortSignal): Promise<Admitted<S>> {
    if (signal?.aborted) return Promise.reject(new RequestAbortedError());
    return new Promise((resolve, reject) => {
      const waiter: Waiter<S> = {
        tokens,
        pick,
        admit: (admitted) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(admitted);
        },
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(waiter);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        reject(new RequestAbortedError());
        // A large request leaving the head may let smaller ones behind it in.
        this.drain();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.drain();
    });
  }

  private fits(tokens: number): boolean {
    // An empty batch takes any request, so one larger than the budget still runs (alone).
    return this.free.length > 0 && (this.runningCount === 0 || this.tokensInUse + tokens <= this.maxBatchTotalTokens);
  }

  private drain(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0].tokens)) {
      const waiter = this.waiting.shift()!;
      const [slot] = this.free.splice(waiter.pick(this.free), 1);
      this.tokensInUse += waiter.tokens;
      this.runningCount += 1;
      let released = false;
      waiter.admit({
        slot,
        release: () => {
          if (released) return;
          released = true;
          this.free.push(slot);
          this.tokensInUse -= waiter.tokens;
          this.runningCount -= 1;
          this.drain();
        },
      });
    }
  }
}
