// A whole RAG query as one activity: what ragQuery runs since the 'rag-answer-one-step' patch,
// and since 'rag-answer-validates' its input validation too. Each local activity costs a query
// about 5 ms on this machine, and evaluating the input schemas inside the workflow sandbox about
// 12 more on every run (bench/workflow-module-cost.ts); here, outside the sandbox, the schemas
// are built once per process. A query's steps only read until the monitoring record is written
// last, so a retry that redoes them all costs time only: the answer returned is always the one
// recorded. Built from the step activities, so the workflow tests' fakes compose the same way.
import { activityInfo } from '@temporalio/activity';
import { validateInput } from '../common/input-parsing.js';
import { type RagQueryInput, ragQueryInputSchema, type RagQuerySpec } from '../common/rag-input.js';
import { type BuiltPrompt, type RagQueryResult, ragQueryResult } from '../common/rag-result.js';
import type { MonitoringRecord } from './monitoring.js';

type PrepareTimings = { embed: number; retrieve: number; buildPrompt: number };
type Spec = Omit<RagQuerySpec, 'prepareOnly'>;

export interface AnswerSteps {
  prepareContext(input: Omit<Spec, 'endpointName' | 'inferenceComponentName' | 'generation'>): Promise<BuiltPrompt & { timings: PrepareTimings }>;
  generate(input: Pick<Spec, 'endpointName' | 'inferenceComponentName' | 'format' | 'generation'> & { prompt: BuiltPrompt['prompt'] }): Promise<{
    answer: string;
    completionTokens: number;
  }>;
  recordMonitoring(record: MonitoringRecord): Promise<void>;
}

export function answerQueryFrom(steps: AnswerSteps) {
  /**
   * validate → prepare (embed, retrieve, buildPrompt) → generate → record; `timings` holds each
   * part's own duration. Bad input fails as InvalidInput before any step. prepareOnly stops
   * after the prompt and records nothing (the caller generates and records).
   */
  return async function answerQuery(raw: RagQueryInput): Promise<{ result: RagQueryResult; timings: PrepareTimings & { generate?: number } }> {
    const { prepareOnly, ...spec } = validateInput(ragQueryInputSchema, 'ragQuery', raw);
    const { endpointName, inferenceComponentName, generation, ...prepare } = spec;
    const built = await steps.prepareContext(prepare);
    const { embed, retrieve, buildPrompt } = built.timings;
    // In the runbook's order, with the rerank step that does not run (NO_RERANKER).
    if (prepareOnly) return { result: ragQueryResult(spec, built, { embed, retrieve, rerank: 0, buildPrompt }), timings: built.timings };
    const started = performance.now();
    const generated = await steps.generate({ endpointName, inferenceComponentName, prompt: built.prompt, format: spec.format, generation });
    const generate = Math.round(performance.now() - started);
    const result = ragQueryResult(spec, built, { embed, retrieve, rerank: 0, buildPrompt, generate }, generated);
    await steps.recordMonitoring({ ...result, at: new Date().toISOString(), via: 'workflow', workflowId: activityInfo().workflowExecution?.workflowId });
    return { result, timings: { ...built.timings, generate } };
  };
}
