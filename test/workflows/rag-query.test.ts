// ragQuery on a real dev server (real time: the worker-loss case waits out a real workflow task
// timeout, which the time-skipping server does not skip) with in-memory activities: the step
// order, bad input refused inside answerQuery as the run's own InvalidInput, the prepareOnly mode, an eager start on a worker sharing the client's NativeConnection,
// and a query that survives the loss (SIGKILL) of the worker process generating its answer.
import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure, Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RagActivities } from '../../activities/rag.js';
import { executeRagQuery } from '../../clients/workflow-runs.js';
import { NO_RERANKER, type RagQueryResult } from '../../common/rag-result.js';
import { startProcess, type ManagedProcess } from '../../dev/processes.js';
import { devServerEnv, workflowBundle } from '../support/temporal.js';
import { fakeRag } from './fake-rag.js';

const { temporal } = proto;
let env: TestWorkflowEnvironment;
let n = 0;
beforeAll(async () => {
  env = await devServerEnv();
  await workflowBundle();
});
afterAll(() => env?.teardown());

// A short grace time: on shutdown, running activities are told to stop (cancellationSignal) at once.
const newWorker = async (taskQueue: string, activities: Partial<RagActivities>) =>
  Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
    shutdownGraceTime: '100ms',
    shutdownForceTime: '5s',
  });

const input = { query: 'How do I scale an endpoint?', endpointName: 'demo' };

/** The local activities a recorded history ran, in order (from their markers). */
const localActivityTypes = (history: proto.temporal.api.history.v1.IHistory): string[] =>
  (history.events ?? []).flatMap((e) => {
    const data = e.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data;
    return data ? [JSON.parse(Buffer.from(data).toString()).activity_type] : [];
  });

describe('ragQuery', () => {
  it('answers in one local activity: prepare (embed, retrieve, buildPrompt) → generate → recordMonitoring, the rerank step skipped', async () => {
    const calls: string[] = [];
    const taskQueue = `rag-test-${++n}`;
    const worker = await newWorker(
      taskQueue,
      fakeRag(calls, async () => ({ answer: 'Use autoscaling.', latencyMs: 5, completionTokens: 3 })),
    );
    const handle = env.client.workflow.getHandle(`rag-${n}`);
    type Steps = { steps: Array<{ name: string; outcome?: string }> };
    // The progress query needs a worker: asked before this one stops.
    const [result, progress] = await worker.runUntil(async (): Promise<[RagQueryResult, Steps]> => {
      const answered: RagQueryResult = await env.client.workflow.execute('ragQuery', { taskQueue, workflowId: `rag-${n}`, args: [input] });
      return [answered, await handle.query<Steps>('progress')];
    });
    expect(calls).toEqual(['answerQuery', 'prepareContext', 'generate', 'recordMonitoring']);
    expect(result).toMatchObject({ answer: 'Use autoscaling.', reranker: NO_RERANKER, usage: { promptTokens: 12, completionTokens: 3, contextChunks: 1 } });
    expect(Object.keys(result.timings)).toEqual(['embed', 'retrieve', 'rerank', 'buildPrompt', 'generate']);
    // The parts' own durations, as prepareContext timed them.
    expect(result.timings).toMatchObject({ embed: 3, retrieve: 2, rerank: 0, buildPrompt: 1 });
    // One local activity and one patch marker in history, and the progress query shows the parts.
    const { events } = await handle.fetchHistory();
    const markers = (events ?? []).flatMap((e) => (e.markerRecordedEventAttributes ? [e.markerRecordedEventAttributes.markerName] : []));
    expect(markers.sort()).toEqual(['core_local_activity', 'core_patch']);
    expect(progress.steps.map((step) => `${step.name}:${step.outcome}`)).toEqual([
      'embed:ok',
      'retrieve:ok',
      'rerank:skipped',
      'buildPrompt:ok',
      'generate:ok',
    ]);
  });

  it('generates through the named inference component, and names none when the input has none', async () => {
    const seen: Array<string | undefined> = [];
    const taskQueue = `rag-test-${++n}`;
    const worker = await newWorker(
      taskQueue,
      fakeRag([], async ({ inferenceComponentName }) => (seen.push(inferenceComponentName), { answer: 'ok', latencyMs: 1, completionTokens: 1 })),
    );
    const [withComponent, without]: RagQueryResult[] = await worker.runUntil(
      Promise.all([
        env.client.workflow.execute('ragQuery', { taskQueue, workflowId: `rag-${n}-ic`, args: [{ ...input, inferenceComponentName: 'demo-llm' }] }),
        env.client.workflow.execute('ragQuery', { taskQueue, workflowId: `rag-${n}-model`, args: [input] }),
      ]),
    );
    expect(seen.sort()).toEqual(['demo-llm', undefined]);
    expect(withComponent.model).toEqual({ endpointName: 'demo', inferenceComponentName: 'demo-llm', format: 'tgi' });
    expect(without.model).toEqual({ endpointName: 'demo', format: 'tgi' });
  });

  /** ragQuery run with `args` on a fresh worker: the cause of the run's failure (none if it succeeded) and the steps called. */
  async function refused(args: unknown): Promise<{ cause?: ApplicationFailure; calls: string[] }> {
    const calls: string[] = [];
    const taskQueue = `rag-test-${++n}`;
    const worker = await newWorker(
      taskQueue,
      fakeRag(calls, async () => ({ answer: 'never', latencyMs: 0, completionTokens: 0 })),
    );
    const err = await worker.runUntil(env.client.workflow.execute('ragQuery', { taskQueue, workflowId: `rag-${n}`, args: [args as never] })).then(
      () => undefined,
      (e: unknown) => e as { cause?: ApplicationFailure },
    );
    return { cause: err?.cause, calls };
  }

  it("refuses an inference component name outside AWS's pattern before any step", async () => {
    const { cause, calls } = await refused({ ...input, inferenceComponentName: 'bad_name' });
    // The activity's refusal is the run's own, unchanged: type InvalidInput, the problems in its details.
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause?.type).toBe('InvalidInput');
    expect(cause?.message).toContain('inferenceComponentName: must match');
    expect(cause?.details).toEqual([{ problems: [expect.stringContaining('inferenceComponentName: must match')] }]);
    // Refused inside answerQuery, before any step, and not retried.
    expect(calls).toEqual(['answerQuery']);
  });

  it('refuses input that breaks several rules with every problem named, and none of its steps run', async () => {
    const { cause, calls } = await refused({ query: '  ', topK: 0, extra: 1 });
    expect(cause?.type).toBe('InvalidInput');
    expect(cause?.message).toMatch(/^Invalid ragQuery input: /);
    for (const problem of ['query: must not be empty', 'endpointName: is required', 'topK:', 'Unrecognized key']) expect(cause?.message).toContain(problem);
    expect(calls).toEqual(['answerQuery']);
  });

  it('prepareOnly stops after the prompt and records nothing', async () => {
    const calls: string[] = [];
    const taskQueue = `rag-test-${++n}`;
    const worker = await newWorker(
      taskQueue,
      fakeRag(calls, async () => ({ answer: 'never', latencyMs: 0, completionTokens: 0 })),
    );
    const result: RagQueryResult = await worker.runUntil(
      env.client.workflow.execute('ragQuery', { taskQueue, workflowId: `rag-${n}`, args: [{ ...input, prepareOnly: true }] }),
    );
    expect(calls).toEqual(['answerQuery', 'prepareContext']);
    expect(result.answer).toBe('');
    expect(result.prompt).toContain('Scale with target tracking.');
    expect(result.timings).toEqual({ embed: 3, retrieve: 2, rerank: 0, buildPrompt: 1 });
    expect(result.usage).toEqual({ promptTokens: 12, contextChunks: 1 });
  });

  it('starts eagerly on a worker that shares the client NativeConnection, every step a local activity', async () => {
    const calls: string[] = [];
    const local: boolean[] = [];
    const taskQueue = `rag-test-${++n}`;
    const worker = await newWorker(
      taskQueue,
      fakeRag(calls, async () => (local.push(activityInfo().isLocal), { answer: 'Eager.', latencyMs: 1, completionTokens: 1 })),
    );
    const client = new Client({ connection: env.nativeConnection });
    const run = await worker.runUntil(executeRagQuery(client, input as never, { taskQueue, eagerStart: true }));
    expect(run.eagerlyStarted).toBe(true);
    expect(run.result.answer).toBe('Eager.');
    expect(local).toEqual([true]);
    // One workflow task did it all: no activity task was scheduled on the queue.
    const { events } = await client.workflow.getHandle(run.workflowId).fetchHistory();
    expect(events?.filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
    expect(events?.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(1);
  });

  it('replays runs recorded before the rag-answer-validates patch (validated in the workflow, then answerQuery; prepareOnly: prepareContext) without nondeterminism', async () => {
    for (const [file, expected] of [
      ['rag-query-before-answer-validates.binpb', ['answerQuery']],
      ['rag-query-prepare-only-before-answer-validates.binpb', ['prepareContext']],
    ] as const) {
      const history = temporal.api.history.v1.History.decode(readFileSync(new URL(`./histories/${file}`, import.meta.url)));
      expect(localActivityTypes(history)).toEqual(expected);
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file);
    }
  });

  it('replays a run recorded before the rag-answer-one-step patch (prepare, generate, record as three local activities) without nondeterminism', async () => {
    const history = temporal.api.history.v1.History.decode(readFileSync(new URL('./histories/rag-query-before-answer-one-step.binpb', import.meta.url)));
    expect(localActivityTypes(history)).toEqual(['prepareContext', 'generate', 'recordMonitoring']);
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'rag-before-answer-patch');
  });

  it('replays a run recorded before the rag-prepare-one-step patch (three query steps, then generate) without nondeterminism', async () => {
    // Recorded with the code before the patch (a binary History: @temporalio/common's JSON reader
    // trips over the second protobufjs copy npm installs for it).
    const history = temporal.api.history.v1.History.decode(readFileSync(new URL('./histories/rag-query-before-prepare-one-step.binpb', import.meta.url)));
    expect(localActivityTypes(history)).toEqual(['embedQuery', 'retrieve', 'buildPrompt', 'generate', 'recordMonitoring']);
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'rag-before-prepare-patch');
  });

  it('a query whose worker process dies mid-generation is finished by the next worker', async () => {
    const calls: string[] = [];
    const taskQueue = `rag-test-${++n}`;
    // Worker A, its own process, runs the steps and hangs in generate (a local activity); it is
    // SIGKILLed there. Its workflow task times out (10 s, real time) and worker B runs the query.
    let out = '';
    let generating!: () => void;
    const started = new Promise<void>((r) => (generating = r));
    const workerA: ManagedProcess = startProcess(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./rag-query-hung-worker.ts', import.meta.url)), env.address, taskQueue],
      {
        onOutput: (chunk) => {
          out += chunk;
          if (out.includes('generating')) generating();
        },
      },
    );
    const handle = await env.client.workflow.start('ragQuery', { taskQueue, workflowId: `rag-${n}`, args: [input] });
    await started;
    await workerA.stop('SIGKILL', 5000);

    const workerB = await newWorker(
      taskQueue,
      fakeRag(calls, async () => ({ answer: 'Answered after the crash.', latencyMs: 5, completionTokens: 4 })),
    );
    const result: RagQueryResult = await workerB.runUntil(handle.result());
    expect(result.answer).toBe('Answered after the crash.');
    expect(calls.at(-2)).toBe('generate');
    expect(calls.filter((c) => c === 'recordMonitoring')).toHaveLength(1);
  }, 120_000);
});
