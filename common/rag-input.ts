// Inputs of the RAG workflows (ingestDocuments, ragQuery) as zod schemas; what a query returns is in
// rag-result.ts. Workflow-safe: no I/O.
import { z } from 'zod';
import { containerFormatSchema } from './container-format.js';
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
