// ragQuery: one question answered from the corpus. embed → retrieve → rerank → build the
// prompt → generate through the endpoint → record monitoring. The fast in-process steps are
// local activities (no task-queue round trip each); generation is an ordinary activity, so a
// worker restart mid-generation retries just that step.
import { ApplicationFailure, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import { ragQueryInputSchema, type RagQueryInput, type RagQueryResult } from '../common/rag-input';
import type { RagActivities } from '../activities/rag';
import { reasonOf } from './failures';
import { ProgressTracker } from './progress';
import { validateInput } from './workflow-input';

const local = proxyLocalActivities<RagActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200ms', maximumAttempts: 3, nonRetryableErrorTypes: ['InvalidInput'] },
});
const remote = proxyActivities<RagActivities>({
  startToCloseTimeout: '2 minutes',
  // generate heartbeats every second while the endpoint works; a lost worker shows in 10 s.
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumAttempts: 4, nonRetryableErrorTypes: ['ValidationError', 'ModelError', 'UnexpectedModelResponse'] },
});

export async function ragQuery(rawInput: RagQueryInput): Promise<RagQueryResult> {
  const spec = validateInput(ragQueryInputSchema, 'ragQuery', rawInput);
  const progress = new ProgressTracker('ragQuery', spec.endpointName);
  try {
    const vectors = await progress.step('embed', () => local.embedQuery({ query: spec.query }));
    const hits = await progress.step('retrieve', () =>
      local.retrieve({ collection: spec.collection, dense: vectors.dense, sparse: vectors.sparse, mode: spec.mode, topK: spec.topK, filter: spec.filter }),
    );
    const ranked = await progress.step('rerank', () => local.rerank({ query: spec.query, hits }));
    const built = await progress.step('buildPrompt', () => local.buildPrompt({ query: spec.query, hits: ranked.hits, contextTokens: spec.contextTokens }));
    const result: RagQueryResult = {
      query: spec.query,
      answer: '',
      prompt: built.prompt,
      sources: built.sources,
      timings: {},
      model: { endpointName: spec.endpointName, format: spec.format },
      usage: { promptTokens: built.promptTokens, contextChunks: built.contextChunks },
      reranker: ranked.reranker,
    };
    if (!spec.prepareOnly) {
      const generated = await progress.step('generate', () =>
        remote.generate({ endpointName: spec.endpointName, prompt: built.prompt, format: spec.format, generation: spec.generation }),
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
    throw ApplicationFailure.create({ message: `RAG query failed at step ${progress.snapshot().step}: ${reasonOf(err)}`, type: 'RagQueryFailed', nonRetryable: true });
  }
}
