// Starting the workflows from code. The endpoint workflows come with live progress: the
// `progress` query gives the step, and the pending activity's last failure says what AWS reported
// on the last poll ("Endpoint demo is Creating"), which is what a person watching a long wait
// wants to see. ragQuery is a request/response call with a deadline, shared by `llmops ask`
// and the RAG service.
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';
import type { DeployEndpointInput, TeardownEndpointInput } from '../common/endpoint-input.js';
import type { RagQuerySpec } from '../common/rag-input.js';
import type { RagQueryResult } from '../common/rag-result.js';
import { deployWorkflowId, inputFingerprint, teardownWorkflowId } from '../common/resource-names.js';
import { CONTROL_TASK_QUEUE, RAG_TASK_QUEUE } from '../common/task-queues.js';
import type { DeployEndpointResult } from '../workflows/deploy-endpoint.js';
import type { Progress } from '../workflows/progress.js';
import type { TeardownEndpointResult } from '../workflows/teardown-endpoint.js';

export type ProgressLine = (line: string) => void;

/** Prints each new step and, during waits, the latest poll outcome; stops when `done` settles. */
async function follow(handle: WorkflowHandle, print: ProgressLine, done: Promise<unknown>): Promise<void> {
  let settled = false;
  void done.finally(() => (settled = true)).catch(() => {});
  let lastLine = '';
  // The query's elapsedSeconds is workflow time, which only moves when the workflow does
  // (not during a long poll); a person watching wants wall-clock time.
  const started = Date.now();
  while (!settled) {
    try {
      const progress = await handle.query<Progress>('progress');
      const desc = await handle.describe();
      const pending = desc.raw.pendingActivities?.[0];
      // With payload encryption the raw failure's message reads "Encoded failure"; the client's
      // data converter (which holds the codec) decodes the real one.
      const lastFailure = await decodeOptionalFailureToOptionalError(handle.client.options.loadedDataConverter, pending?.lastFailure).catch(() => undefined);
      const poll = lastFailure?.message ? ` — ${lastFailure.message} (poll ${pending?.attempt})` : '';
      const line = `[${Math.round((Date.now() - started) / 1000)}s] ${progress.status === 'compensating' ? 'rolling back' : progress.step}${poll}`;
      if (line.replace(/^\[\d+s\] /, '') !== lastLine.replace(/^\[\d+s\] /, '')) print(line);
      lastLine = line;
    } catch {
      // The first workflow task may not have run yet; queries fail until it has.
    }
    await Promise.race([done.catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
  }
}

/** The memo key holding the fingerprint of the input a run was started with. */
export const INPUT_FINGERPRINT_MEMO = 'inputFingerprint';

/**
 * Starts `workflowType` with `workflowId`, or attaches to the run already going under that id
 * when it was started with the same input; a different input fails clearly instead of silently
 * following a run that does something else.
 */
export async function startRun(
  client: Client,
  workflowType: string,
  workflowId: string,
  input: unknown,
  taskQueue: string = CONTROL_TASK_QUEUE,
): Promise<WorkflowHandle> {
  const fingerprint = inputFingerprint(input);
  try {
    return await client.workflow.start(workflowType, { taskQueue, workflowId, args: [input], memo: { [INPUT_FINGERPRINT_MEMO]: fingerprint } });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const handle = client.workflow.getHandle(workflowId);
    const running = await handle.describe();
    if (running.memo?.[INPUT_FINGERPRINT_MEMO] !== fingerprint) {
      throw new Error(
        `${workflowId} is already running (run ${running.runId}, started ${running.startTime.toISOString()}) with a different input; ` +
          `wait for it to finish or cancel it (temporal workflow cancel --workflow-id ${workflowId}), then start again`,
      );
    }
    return handle;
  }
}

/** Follows a run's progress (started here or found by id) and returns its result. */
export async function followRun<T>(handle: WorkflowHandle, print: ProgressLine = () => {}): Promise<T> {
  const result = handle.result() as Promise<T>;
  await follow(handle, print, result);
  return result;
}

/** Starts (or attaches to, see startRun) `workflowType` with `workflowId`, follows its progress, returns its result. */
export async function runWorkflow<T>(
  client: Client,
  workflowType: string,
  workflowId: string,
  input: unknown,
  print: ProgressLine = () => {},
  taskQueue: string = CONTROL_TASK_QUEUE,
): Promise<T> {
  return followRun<T>(await startRun(client, workflowType, workflowId, input, taskQueue), print);
}

/** The workflow ids the endpoint runs get, so a re-run (or `llmops watch`) finds the same run. */
export const runIds = { deploy: deployWorkflowId, teardown: teardownWorkflowId };

export const runDeploy = (client: Client, input: DeployEndpointInput, print?: ProgressLine) =>
  runWorkflow<DeployEndpointResult>(client, 'deployEndpoint', runIds.deploy(input.endpointName), input, print);

export const runTeardown = (client: Client, input: TeardownEndpointInput, print?: ProgressLine) =>
  runWorkflow<TeardownEndpointResult>(client, 'teardownEndpoint', runIds.teardown(input.endpointName), input, print);

export interface RagQueryRun {
  result: RagQueryResult;
  workflowId: string;
  /** Wall-clock milliseconds from start request to result, as the caller saw them. */
  elapsedMs: number;
  /** The server handed the first workflow task to this process's worker (eagerStart granted). */
  eagerlyStarted: boolean;
}

export class RagQueryTimeoutError extends Error {
  constructor(
    readonly workflowId: string,
    readonly timeoutMs: number,
  ) {
    super(`ragQuery ${workflowId} did not finish within ${timeoutMs} ms`);
    this.name = 'RagQueryTimeoutError';
  }
}

/** The caller stopped waiting (an HTTP client disconnected): the run was cancelled. */
export class RagQueryAbandonedError extends Error {
  constructor(readonly workflowId: string) {
    super(`ragQuery ${workflowId} was cancelled: its caller stopped waiting`);
    this.name = 'RagQueryAbandonedError';
  }
}

/**
 * Starts ragQuery (workflow id rag-<uuid>) and waits for its result, at most `timeoutMs`; past
 * that, or when `signal` aborts (the caller is gone), the run is cancelled (nobody is waiting for
 * it any more) and RagQueryTimeoutError or RagQueryAbandonedError thrown. An already aborted
 * signal starts nothing. The server also ends the run at twice the timeout, in case the caller
 * dies before cancelling. `eagerStart` is for a client on the NativeConnection of a rag worker
 * in the same process (the RAG service hosting one).
 */
export async function executeRagQuery(
  client: Client,
  spec: RagQuerySpec,
  {
    taskQueue = RAG_TASK_QUEUE,
    timeoutMs = 60_000,
    workflowId = `rag-${randomUUID()}`,
    signal,
    eagerStart = false,
  }: { taskQueue?: string; timeoutMs?: number; workflowId?: string; signal?: AbortSignal; eagerStart?: boolean } = {},
): Promise<RagQueryRun> {
  if (signal?.aborted) throw new RagQueryAbandonedError(workflowId);
  const started = performance.now();
  // Eager start: the server hands the first workflow task back in the start response to the
  // worker of this process (the client must share that worker's NativeConnection), so there is no
  // task-queue match; with every step a local activity, the whole query is that one task.
  const handle = await client.workflow.start('ragQuery', {
    taskQueue,
    workflowId,
    args: [spec],
    workflowExecutionTimeout: timeoutMs * 2,
    requestEagerStart: eagerStart,
  });
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RagQueryTimeoutError(workflowId, timeoutMs)), timeoutMs);
    onAbort = () => reject(new RagQueryAbandonedError(workflowId));
    if (signal?.aborted)
      onAbort(); // aborted while the start request was in flight
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const result = (await Promise.race([handle.result(), stopped])) as RagQueryResult;
    return { result, workflowId, elapsedMs: Math.round(performance.now() - started), eagerlyStarted: handle.eagerlyStarted ?? false };
  } catch (err) {
    if (err instanceof RagQueryTimeoutError || err instanceof RagQueryAbandonedError) void handle.cancel().catch(() => {});
    throw err;
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
