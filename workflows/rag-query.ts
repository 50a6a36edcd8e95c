// ragQuery: one question answered from the corpus. embed → retrieve → (rerank: skipped, no
// reranker model here) → build the prompt → generate through the endpoint → record
// monitoring. The first three run as one local activity (since 'rag-prepare-one-step'), the
// others as one each, so a query is a single workflow task: with an
// eager start (a rag worker in the caller's process) no task queue is involved at all. A
// worker lost mid-query shows as that task's timeout, and another worker runs the query again
// from the last recorded step (activity-proxies.ts says why that is within seconds). Runs
// started before the 'rag-generate-local-activity' patch generate through an ordinary activity.
import { ApplicationFailure, patched, workflowInfo } from '@temporalio/workflow';
import { NO_RERANKER, ragQueryInputSchema, type RagQueryInput, type RagQueryResult } from '../common/rag-input.js';
import { generationActivities, generationLocalActivities, ragLocalActivities } from './activity-proxies.js';
import { reasonOf } from './failures.js';
import { ProgressTracker } from './progress.js';
import { validateInput } from './workflow-input.js';

const local = ragLocalActivities();
const remote = generationActivities();
const localGeneration = generationLocalActivities();

export async function ragQuery(rawInput: RagQueryInput): Promise<RagQueryResult> {
  const spec = validateInput(ragQueryInputSchema, 'ragQuery', rawInput);
  const progress = new ProgressTracker('ragQuery', spec.endpointName);
  try {
    const { query, collection, mode, topK, filter, contextTokens, promptStyle, format } = spec;
    let built: Awaited<ReturnType<typeof local.buildPrompt>>;
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
    const result: RagQueryResult = {
      query: spec.query,
      answer: '',
      prompt: built.prompt,
      sources: built.sources,
      timings: {},
      model: {
        endpointName: spec.endpointName,
        ...(spec.inferenceComponentName ? { inferenceComponentName: spec.inferenceComponentName } : {}),
        format: spec.format,
      },
      usage: { promptTokens: built.promptTokens, contextChunks: built.contextChunks },
      reranker: NO_RERANKER,
    };
    if (!spec.prepareOnly) {
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
      result.answer = generated.answer;
      result.usage.completionTokens = generated.completionTokens;
    }
    result.timings = progress.timings();
    if (!spec.prepareOnly) {
      await local.recordMonitoring({ ...result, at: new Date(Date.now()).toISOString(), via: 'workflow', workflowId: workflowInfo().workflowId });
    }
    progress.finish('succeeded');
    return result;
  } catch (err) {
    progress.finish('failed', reasonOf(err));
    throw ApplicationFailure.create({
      message: `RAG query failed at step ${progress.snapshot().step}: ${reasonOf(err)}`,
      type: 'RagQueryFailed',
      nonRetryable: true,
    });
  }
}
