// A whole RAG query as one activity: what ragQuery runs since the 'rag-answer-one-step' patch.
// Each local activity costs a query about 5 ms on this machine and each patch marker about 2
// (docs/benchmarks.md), and a query's steps only read until the monitoring record is written
// last, so a retry that redoes them all costs time only: the answer returned is always the one
// recorded. Built from the step activities, so the workflow tests' fakes compose the same way.
import { activityInfo } from '@temporalio/activity';
import { type BuiltPrompt, type RagQueryResult, type RagQuerySpec, ragQueryResult } from '../common/rag-input.js';
import type { MonitoringRecord } from './monitoring.js';

/** A validated ragQuery input that wants its answer (not prepareOnly). */
export type AnswerQueryInput = Omit<RagQuerySpec, 'prepareOnly'>;

type PrepareTimings = { embed: number; retrieve: number; buildPrompt: number };

export interface AnswerSteps {
  prepareContext(input: Omit<AnswerQueryInput, 'endpointName' | 'inferenceComponentName' | 'generation'>): Promise<BuiltPrompt & { timings: PrepareTimings }>;
  generate(input: Pick<AnswerQueryInput, 'endpointName' | 'inferenceComponentName' | 'format' | 'generation'> & { prompt: BuiltPrompt['prompt'] }): Promise<{
    answer: string;
    completionTokens: number;
  }>;
  recordMonitoring(record: MonitoringRecord): Promise<void>;
}

export function answerQueryFrom(steps: AnswerSteps) {
  /** prepare (embed, retrieve, buildPrompt) → generate → record; `timings` holds each part's own duration. */
  return async function answerQuery(input: AnswerQueryInput): Promise<{ result: RagQueryResult; timings: PrepareTimings & { generate: number } }> {
    const { endpointName, inferenceComponentName, generation, ...prepare } = input;
    const built = await steps.prepareContext(prepare);
    const started = performance.now();
    const generated = await steps.generate({ endpointName, inferenceComponentName, prompt: built.prompt, format: input.format, generation });
    const generate = Math.round(performance.now() - started);
    const { embed, retrieve, buildPrompt } = built.timings;
    // In the runbook's order, with the rerank step that does not run (NO_RERANKER).
    const result = ragQueryResult(input, built, { embed, retrieve, rerank: 0, buildPrompt, generate }, generated);
    await steps.recordMonitoring({ ...result, at: new Date().toISOString(), via: 'workflow', workflowId: activityInfo().workflowExecution?.workflowId });
    return { result, timings: { ...built.timings, generate } };
  };
}
