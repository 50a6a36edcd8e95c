// Inputs and results of the RAG workflows (ingestDocuments, ragQuery). Workflow-safe: no I/O.
import { z } from 'zod';
import { type ContainerFormat, containerFormatSchema, type GenerationPrompt } from './container-format.js';
import { endpointNameSchema, inferenceComponentNameSchema } from './sagemaker-names.js';
import { s3UriSchema } from './s3-uri.js';

const COLLECTION = /^[A-Za-z0-9_-]{1,64}$/;
const collectionSchema = z.string().regex(COLLECTION, 'must be 1-64 letters, digits, _ or -').default('documents');

export const ingestDocumentsInputSchema = z.strictObject({
  collection: collectionSchema,
  source: z.union(
    [
      /** A directory of .md / .txt files and .jsonl files of {id, text, ...metadata} lines. */
      z.strictObject({ directory: z.string().min(1) }),
      /** The same formats under an S3 prefix. */
      z.strictObject({ s3Uri: s3UriSchema('bucket/prefix') }),
    ],
    { error: 'must be {"directory": "<path>"} or {"s3Uri": "s3://bucket/prefix"}' },
  ),
  /** Chunk size and overlap in embedding-model tokens. */
  chunkTokens: z.number().int().min(32).max(510).default(256),
  overlapTokens: z.number().int().min(0).max(128).default(32),
  /** Documents per activity (each embeds and upserts its chunks in one go). */
  documentsPerBatch: z.number().int().min(1).max(500).default(16),
});

export const generationSchema = z.strictObject({
  max_new_tokens: z.number().int().min(1).max(4096).default(256),
  temperature: z.number().positive().max(5).default(0.7),
  top_p: z.number().positive().max(1).default(0.9),
  repetition_penalty: z.number().positive().max(5).default(1.1),
  /**
   * Decode greedily: the sampling parameters (temperature, top_p) are not sent, which is how TGI
   * and LMI are asked for the most likely continuation. Repeatable answers, e.g. for tests.
   */
  greedy: z.boolean().default(false),
  /** Stop sequences (TGI allows up to 4); a base model answering one line stops at "\n". */
  stop: z.array(z.string().min(1)).max(4, 'at most 4 stop sequences').optional(),
});

/**
 * How the prompt is worded. `instruct`: the reference design's prompt, for instruction-tuned
 * models. `base`: question, context, then the question again and "Answer:", which a base
 * (completion) model such as Gemma 3 270M continues with an answer taken from the context.
 */
export const promptStyleSchema = z.enum(['instruct', 'base']).default('instruct');
export type PromptStyle = z.output<typeof promptStyleSchema>;

export const ragQueryInputSchema = z.strictObject({
  query: z.string().trim().min(1, 'must not be empty').max(2000, 'must be at most 2000 characters'),
  endpointName: endpointNameSchema,
  /**
   * On an inference-component endpoint: the component that generates (AWS refuses an
   * invocation there without one). Left out: a model-based endpoint, invoked as it is.
   */
  inferenceComponentName: inferenceComponentNameSchema.optional(),
  collection: collectionSchema,
  topK: z.number().int().min(1).max(50).default(5),
  mode: z.enum(['dense', 'sparse', 'hybrid']).default('hybrid'),
  /** Exact-match filters on payload fields, e.g. {"source": "faq.md"}. */
  filter: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  /** Token budget of the context placed in the prompt (embedding-model tokens). */
  contextTokens: z.number().int().min(64).max(8000).default(768),
  /** The endpoint's request format (common/container-format.ts); a chat format gets the prompt as system + user messages. */
  format: containerFormatSchema.default('tgi'),
  promptStyle: promptStyleSchema,
  generation: generationSchema.default({ max_new_tokens: 256, temperature: 0.7, top_p: 0.9, repetition_penalty: 1.1, greedy: false }),
  /**
   * Stop after building the prompt: the caller generates (e.g. an HTTP service streaming
   * tokens with InvokeEndpointWithResponseStream) and records the monitoring entry itself.
   */
  prepareOnly: z.boolean().default(false),
});

export type IngestDocumentsInput = z.input<typeof ingestDocumentsInputSchema>;
export type IngestSpec = z.output<typeof ingestDocumentsInputSchema>;
export type RagQueryInput = z.input<typeof ragQueryInputSchema>;
export type RagQuerySpec = z.output<typeof ragQueryInputSchema>;
export type Generation = z.output<typeof generationSchema>;

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
