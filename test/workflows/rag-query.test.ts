// ragQuery on a real dev server (real time: the worker-loss case waits out a real heartbeat
// timeout, which the time-skipping server does not skip while an attempt is in flight) with
// in-memory activities: the step order, the
// prepareOnly mode, and a query that survives the loss of the worker generating its answer.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { cancellationSignal, heartbeat } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RagActivities } from '../../activities/rag';
import { NO_RERANKER, type RagQueryResult } from '../../common/rag-input';
import { devServerEnv, workflowBundle } from '../support/temporal';

let env: TestWorkflowEnvironment;
let n = 0;
beforeAll(async () => {
  env = await devServerEnv();
  await workflowBundle();
});
afterAll(() => env?.teardown());

function fakeRag(calls: string[], generate: RagActivities['generate']): Partial<RagActivities> {
  return {
    embedQuery: async () => (calls.push('embedQuery'), { dense: [1, 0], sparse: { indices: [1], values: [1] } }),
    retrieve: async () => (calls.push('retrieve'), [{ id: 'a', score: 0.9, text: 'Scale with target tracking.', source: 'scaling.md', documentId: 'scaling.md', chunkIndex: 0 }]),
    buildPrompt: async ({ query, hits }) => (
      calls.push('buildPrompt'),
      { prompt: `Q: ${query}\n${hits[0].text}`, promptTokens: 12, contextChunks: 1, sources: [{ id: 'a', score: 0.9, source: 'scaling.md', snippet: 'Scale with target tracking.' }] }
    ),
    generate: async (input) => (calls.push('generate'), generate(input)),
    recordMonitoring: async () => void calls.push('recordMonitoring'),
  };
}

// A short grace time: on shutdown, running activities are told to stop (cancellationSignal) at once.
const newWorker = async (taskQueue: string, activities: Partial<RagActivities>) =>
  Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities, shutdownGraceTime: '100ms', shutdownForceTime: '5s' });

const input = { query: 'How do I scale an endpoint?', endpointName: 'demo' };

describe('ragQuery', () => {
  it('runs embed → retrieve → buildPrompt → generate → recordMonitoring, the rerank step skipped', async () => {
    const calls: string[] = [];
    const taskQueue = `rag-test-${++n}`;
    const worker = await newWorker(taskQueue, fakeRag(calls, async () => ({ answer: 'Use autoscaling.', latencyMs: 5, completionTokens: 3 })));
    const result: RagQueryResult = await worker.runUntil(env.client.workflow.execute('ragQuery', { taskQueue, workflowId: `rag-${n}`, args: [input] }));
    expect(calls).toEqual(['embedQuery', 'retrieve', 'buildPrompt', 'generate', 'recordMonitoring']);
    expect(result).toMatchObject({ answer: 'Use autoscaling.', reranker: NO_RERANKER, usage: { promptTokens: 12, completionTokens: 3, contextChunks: 1 } });
    expect(Object.keys(result.timings)).toEqual(['embed', 'retrieve', 'rerank', 'buildPrompt', 'generate']);
    expect(result.timings.rerank).toBe(0);
  });

  it('prepareOnly stops after the prompt and records nothing', async () => {
    const calls: string[] = [];
    const taskQueue = `rag-test-${++n}`;
    const worker = await newWorker(taskQueue, fakeRag(calls, async () => ({ answer: 'never', latencyMs: 0, completionTokens: 0 })));
    const result: RagQueryResult = await worker.runUntil(
      env.client.workflow.execute('ragQuery', { taskQueue, workflowId: `rag-${n}`, args: [{ ...input, prepareOnly: true }] }),
    );
    expect(calls).toEqual(['embedQuery', 'retrieve', 'buildPrompt']);
    expect(result.answer).toBe('');
    expect(result.prompt).toContain('Scale with target tracking.');
  });

  it('a query whose worker goes away mid-generation is finished by the next worker', async () => {
    const calls: string[] = [];
    const taskQueue = `rag-test-${++n}`;
    let generating!: () => void;
    const started = new Promise<void>((r) => (generating = r));
    // Worker A takes the generate step, heartbeats once, and is shut down while it runs: its
    // attempt is lost, and the heartbeat timeout (10 s, real time) hands the step to worker B.
    const workerA = await newWorker(taskQueue, fakeRag(calls, async () => {
      heartbeat();
      generating();
      await new Promise((_, reject) => cancellationSignal().addEventListener('abort', () => reject(new Error('worker shutting down'))));
      throw new Error('unreachable');
    }));
    const runningA = workerA.run();
    const handle = await env.client.workflow.start('ragQuery', { taskQueue, workflowId: `rag-${n}`, args: [input] });
    await started;
    workerA.shutdown();
    await runningA.catch(() => {}); // a forced shutdown rejects; either way worker A is gone

    const workerB = await newWorker(taskQueue, fakeRag(calls, async () => ({ answer: 'Answered after the restart.', latencyMs: 5, completionTokens: 4 })));
    const result: RagQueryResult = await workerB.runUntil(handle.result());
    expect(result.answer).toBe('Answered after the restart.');
    // Only the interrupted step ran again; the earlier steps' results came from history.
    expect(calls.filter((c) => c === 'generate')).toHaveLength(2);
    expect(calls.filter((c) => c === 'retrieve')).toHaveLength(1);
  });
});
