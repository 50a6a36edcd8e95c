// What a RAG query returns and how it is built from its steps. Apart from rag-input.ts (the
// zod schemas): ragQuery's workflow code imports this on every run, and evaluating the schemas
// there costs each run about 12 ms (bench/workflow-module-cost.ts). Workflow-safe: no I/O.
import type { ContainerFormat, GenerationPrompt } from './container-format.js';
import type { RagQuerySpec } from './rag-input.js';

export interface RagSource {
  id: string;
  score: number;
  source: string;
  title?: string;
  snippet: string;
}

/** What `reranker` says: no cross-encoder model can be had on these machines (see the README). */
export const NO_RERANKER = 'none: no cross-encoder model is available here, so the retrieval (fusion) order is kept';

export interface RagQueryResult {
  query: string;
  /** Empty with prepareOnly. */
  answer: string;
  /** The final prompt sent (or to send) to the endpoint: a string, or system + user messages for a chat format. */
  prompt: GenerationPrompt;
  sources: RagSource[];
  /** Milliseconds per step: embed, retrieve, rerank (skipped: 0), buildPrompt, generate. */
  timings: Record<string, number>;
  model: { endpointName: string; inferenceComponentName?: string; format: ContainerFormat };
  usage: { promptTokens: number; completionTokens?: number; contextChunks: number };
  /** What ordered the sources: a cross-encoder, or the retrieval fusion order when none is available. */
  reranker: string;
}

/** What the prompt step hands on: the prompt and what went into it. */
export interface BuiltPrompt {
  prompt: GenerationPrompt;
  promptTokens: number;
  contextChunks: number;
  sources: RagSource[];
}

/**
 * A query's result (and the body of its monitoring record) from its spec and what the steps
 * returned; one builder for the workflow and the activity that answers a whole query.
 */
export function ragQueryResult(
  spec: Pick<RagQuerySpec, 'query' | 'endpointName' | 'inferenceComponentName' | 'format'>,
  built: BuiltPrompt,
  timings: Record<string, number>,
  generated?: { answer: string; completionTokens: number },
): RagQueryResult {
  return {
    query: spec.query,
    answer: generated?.answer ?? '',
    prompt: built.prompt,
    sources: built.sources,
    timings,
    model: {
      endpointName: spec.endpointName,
      ...(spec.inferenceComponentName ? { inferenceComponentName: spec.inferenceComponentName } : {}),
      format: spec.format,
    },
    usage: {
      promptTokens: built.promptTokens,
      ...(generated ? { completionTokens: generated.completionTokens } : {}),
      contextChunks: built.contextChunks,
    },
    reranker: NO_RERANKER,
  };
}
