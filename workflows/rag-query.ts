// ragQuery: one question answered from the corpus. validate → embed → retrieve → (rerank:
// skipped, no reranker model here) → build the prompt → generate through the endpoint → record
// monitoring. Since 'rag-answer-validates' all of it, the input validation included, is one
// local activity (answerQuery), each part timed inside it, so a query is a single workflow task
// with one marker: with an eager start (a rag worker in the caller's process) no task queue is
// involved at all, and the sandbox never evaluates the input schemas (about 12 ms a run,
// bench/workflow-module-cost.ts). Bad input still fails the run as InvalidInput before any step.
// A worker lost mid-query shows as that task's timeout, and another worker runs the query again
// (activity-proxies.ts says why that is within seconds). prepareOnly (the streaming service
// generates itself) stops after the prompt. Runs started before that patch took the earlier
// shapes in ragQueryBeforeValidatingInAnswer.
import { ApplicationFailure, patched, workflowInfo } from '@temporalio/workflow';
import { validateInput } from '../common/input-parsing.js';
import type { RagQueryInput } from '../common/rag-input.js';
import { type BuiltPrompt, NO_RERANKER, ragQueryResult, type RagQueryResult } from '../common/rag-result.js';
import { generationActivities, generationLocalActivities, ragLocalActivities } from './activity-proxies.js';
import { innermostFailure, reasonOf } from './failures.js';
import { ProgressTracker } from './progress.js';

const local = ragLocalActivities();
const remote = generationActivities();
const localGeneration = generationLocalActivities();

export async function ragQuery(rawInput: RagQueryInput): Promise<RagQueryResult> {
  if (!patched('rag-answer-validates')) return ragQueryBeforeValidatingInAnswer(rawInput);
  const endpointName: unknown = (rawInput as Partial<RagQueryInput> | null)?.endpointName;
  const progress = new ProgressTracker('ragQuery', typeof endpointName === 'string' ? endpointName : '');
  try {
    const { result } = await progress.parts('answer', () => localGeneration.answerQuery(rawInput));
    progress.skip('rerank', NO_RERANKER, 'retrieve');
    progress.finish('succeeded');
    return result;
  } catch (err) {
    progress.finish('failed', reasonOf(err));
    // The activity's refusal is the run's own, unchanged (type, message, problems), as when the
    // workflow validated itself: callers map it to a 400 or an exit code.
    const refusal = innermostFailure(err);
    if (refusal instanceof ApplicationFailure && refusal.type === 'InvalidInput') throw refusal;
    throw queryFailed(progress, err);
  }
}

/**
 * The shapes runs started before 'rag-answer-validates' took: the input validated here, then
 * one local activity ('rag-answer-one-step'), or prepare, generate and record as three
 * ('rag-prepare-one-step', 'rag-generate-local-activity'), or each step on its own. The schemas
 * are imported only here, so only the replay of such a run evaluates them.
 */
async function ragQueryBeforeValidatingInAnswer(rawInput: RagQueryInput): Promise<RagQueryResult> {
  const { ragQueryInputSchema } = await import(/* webpackMode: "eager" */ '../common/rag-input.js');
  const spec = validateInput(ragQueryInputSchema, 'ragQuery', rawInput);
  const progress = new ProgressTracker('ragQuery', spec.endpointName);
  try {
    const { prepareOnly, ...answerInput } = spec;
    if (!prepareOnly && patched('rag-answer-one-step')) {
      const { result } = await progress.parts('answer', () => localGeneration.answerQuery(answerInput));
      progress.skip('rerank', NO_RERANKER, 'retrieve');
      progress.finish('succeeded');
      return result;
    }
    const { query, collection, mode, topK, filter, contextTokens, promptStyle, format } = spec;
    let built: BuiltPrompt;
    if (patched('rag-prepare-one-step')) {
      // embed → retrieve → build the prompt in one local activity, each part timed inside it.
      built = await progress.parts('prepare', () => local.prepareContext({ query, collection, mode, topK, filter, contextTokens, promptStyle, format }));
    } else {
      const vectors = await progress.step('embed', () => local.embedQuery({ query }));
      const hits = await progress.step('retrieve', () => local.retrieve({ collection, dense: vectors.dense, sparse: vectors.sparse, mode, topK, filter }));
      built = await progress.step('buildPrompt', () => local.buildPrompt({ query, hits, contextTokens, promptStyle, format }));
    }
    // Recorded as a skipped step (0 ms in the timings) so the result shows that no reranker ran.
    progress.skip('rerank', NO_RERANKER, 'retrieve');
    if (prepareOnly) {
      progress.finish('succeeded');
      return ragQueryResult(spec, built, progress.timings());
    }
    const generation = patched('rag-generate-local-activity') ? localGeneration : remote;
    const generated = await progress.step('generate', () =>
      generation.generate({
        endpointName: spec.endpointName,
        inferenceComponentName: spec.inferenceComponentName,
        prompt: built.prompt,
        format: spec.format,
        generation: spec.generation,
      }),
    );
    const result = ragQueryResult(spec, built, progress.timings(), generated);
    await local.recordMonitoring({ ...result, at: new Date(Date.now()).toISOString(), via: 'workflow', workflowId: workflowInfo().workflowId });
    progress.finish('succeeded');
    return result;
  } catch (err) {
    progress.finish('failed', reasonOf(err));
    throw queryFailed(progress, err);
  }
}

function queryFailed(progress: ProgressTracker, err: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    message: `RAG query failed at step ${progress.snapshot().step}: ${reasonOf(err)}`,
    type: 'RagQueryFailed',
    nonRetryable: true,
  });
}
