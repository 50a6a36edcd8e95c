// The work a control-plane call leaves running after it has answered (an endpoint's launch or
// delete, a transform job's run), kept per resource so that it can be superseded, stopped, and
// waited for at shutdown. Operations on one resource run one after another, so whoever drives
// the model processes never sees two at once for a name.
//
// Contract with an operation: it resolves when it is done, including when its signal aborted it
// (an operation aborted by shutdown writes no state; `recover` picks the resource up at the next
// start). It rejects only on failure, which goes to its `fail` (which records the resource's
// failed state) or, without one, to the log.
import type { Logger } from 'pino';

/** Operations that ignore their abort are not waited for longer than this at shutdown. */
const SHUTDOWN_GRACE_MS = 15_000;

/** The abort reason of every operation at shutdown: tells it to leave its state as it is. */
export class ShutdownAbort extends Error {
  constructor() {
    super('the local cloud is shutting down');
    this.name = 'AbortError';
  }
}

export interface OperationOptions {
  /** Abort the operation running for this resource first (it still settles before this one starts). */
  supersede?: boolean;
  /** Records the failure on the resource (its Failed state and FailureReason). */
  fail?: (err: unknown) => void;
}

interface RunningOperation {
  controller: AbortController;
  done: Promise<void>;
}

export class BackgroundOperations {
  private readonly running = new Map<string, RunningOperation>();

  constructor(
    private readonly log: Logger,
    /** How logs name the resource: the field (`endpoint`, `job`) and the operation (`endpoint operation`). */
    private readonly names: { field: string; operation: string },
  ) {}

  /** Runs `run` for the resource named `name` (case-insensitively), after the one running for it. */
  start(name: string, run: (signal: AbortSignal) => Promise<void>, opts: OperationOptions = {}): void {
    const key = name.toLowerCase();
    const previous = this.running.get(key);
    if (opts.supersede) previous?.controller.abort();
    const controller = new AbortController();
    const op: RunningOperation = { controller, done: Promise.resolve() };
    op.done = (async () => {
      await previous?.done;
      try {
        await run(controller.signal);
      } catch (err) {
        if (!opts.fail) throw err;
        opts.fail(err);
      }
    })()
      .catch((err: unknown) => this.log.error({ err, [this.names.field]: name }, `${this.names.operation} failed unexpectedly`))
      .finally(() => {
        if (this.running.get(key) === op) this.running.delete(key);
      });
    this.running.set(key, op);
  }

  /** Aborts the operation running for `name`, if any; false when there is none. */
  abort(name: string, reason?: unknown): boolean {
    const op = this.running.get(name.toLowerCase());
    op?.controller.abort(reason);
    return op !== undefined;
  }

  /** Shutdown, first half: aborts every operation with a ShutdownAbort. */
  abortAll(): void {
    for (const op of this.running.values()) op.controller.abort(new ShutdownAbort());
  }

  /** Shutdown, second half: waits for every operation to settle, for at most SHUTDOWN_GRACE_MS. */
  async settle(): Promise<void> {
    const ops = [...this.running.values()];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(ops.map((op) => op.done)), new Promise((r) => (timer = setTimeout(r, SHUTDOWN_GRACE_MS)))]);
    clearTimeout(timer);
  }

  /** Aborts every operation and waits, boundedly, for them to settle. */
  async close(): Promise<void> {
    this.abortAll();
    await this.settle();
  }
}
