// TGI's request body and its validation, with TGI's own error messages (router/src/validation.rs)
// so that a client which handles a real TGI endpoint's 422s handles these too.
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import type { Token } from 'node-llama-cpp';
import { ContainerConfigError, positiveIntEnv } from './config.js';
import type { GenerationRequest, SamplingOptions } from './text-generator.js';

const parameters = z
  .object({
    best_of: z.number().int().nonnegative().nullish(),
    temperature: z.number().nullish(),
    repetition_penalty: z.number().nullish(),
    frequency_penalty: z.number().nullish(),
    top_k: z.number().int().nullish(),
    top_p: z.number().nullish(),
    typical_p: z.number().nullish(),
    do_sample: z.boolean().default(false),
    max_new_tokens: z.number().int().nonnegative().nullish(),
    return_full_text: z.boolean().nullish(),
    stop: z.array(z.string()).default([]),
    truncate: z.number().int().nonnegative().nullish(),
    watermark: z.boolean().default(false),
    details: z.boolean().default(false),
    decoder_input_details: z.boolean().default(false),
    seed: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullish(),
    top_n_tokens: z.number().int().nonnegative().nullish(),
    grammar: z.unknown().optional(),
    adapter_id: z.string().nullish(),
    // Local-only (vLLM's name; TGI has no such parameter): keep going past EOS, so benches
    // generate exactly max_new_tokens. Real TGI ignores it like any unknown parameter.
    ignore_eos: z.boolean().default(false),
  })
  .loose();

/** TGI's CompatGenerateRequest: what `/invocations` accepts for text generation. */
export const tgiRequestSchema = z
  .object({
    inputs: z.string(),
    parameters: parameters.prefault({}),
    stream: z.boolean().default(false),
  })
  .loose();

export type TgiRequest = z.infer<typeof tgiRequestSchema>;

export class TgiValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TgiValidationError';
  }
}

export interface TgiLimits {
  maxInputTokens: number;
  maxTotalTokens: number;
  maxStopSequences: number;
  maxTopNTokens: number;
  maxBestOf: number;
  maxConcurrentRequests: number;
  /** Requests decoded together at most (TGI's MAX_BATCH_SIZE). */
  maxBatchSize: number;
  /** Sum of prompt + max_new_tokens over the running requests (TGI's MAX_BATCH_TOTAL_TOKENS). */
  maxBatchTotalTokens: number;
}

// TGI's default cap on new tokens when the request names none (DEFAULT_GENERATION_LENGTH).
const DEFAULT_GENERATION_LENGTH = 1024;
const DEFAULT_MAX_TOTAL_TOKENS = 4096;
// TGI's fallback when the model cannot report its own budget: max(16000, max_total_tokens).
const DEFAULT_MAX_BATCH_TOTAL_TOKENS = 16_000;
// Each sequence allocates MAX_TOTAL_TOKENS KV cells up front (TGI pages its cache instead), and
// two cores saturate well before this many streams, so the derived batch stops here.
const DEFAULT_MAX_BATCH_SIZE_CAP = 8;

/**
 * TGI's launcher settings, from the same environment variables the SageMaker TGI images read.
 * `trainContextSize` stands in for the model config's max_position_embeddings.
 */
export function tgiLimitsFromEnv(env: NodeJS.ProcessEnv, trainContextSize: number): TgiLimits {
  const maxTotalTokens = positiveIntEnv(env, 'MAX_TOTAL_TOKENS', Math.min(trainContextSize, DEFAULT_MAX_TOTAL_TOKENS));
  const maxInputTokens = positiveIntEnv(env, 'MAX_INPUT_TOKENS') ?? positiveIntEnv(env, 'MAX_INPUT_LENGTH') ?? maxTotalTokens - 1;
  // The launcher refuses to start with these settings; so does this stand-in.
  if (maxInputTokens >= maxTotalTokens) {
    throw new ContainerConfigError(
      `\`max_input_tokens\` must be < \`max_total_tokens\` (MAX_INPUT_LENGTH=${maxInputTokens}, MAX_TOTAL_TOKENS=${maxTotalTokens})`,
    );
  }
  const maxBatchTotalTokens = positiveIntEnv(env, 'MAX_BATCH_TOTAL_TOKENS', Math.max(DEFAULT_MAX_BATCH_TOTAL_TOKENS, maxTotalTokens));
  if (maxTotalTokens > maxBatchTotalTokens) {
    throw new ContainerConfigError(`\`max_total_tokens\` must be <= \`max_batch_total_tokens\`. Given: ${maxTotalTokens} and ${maxBatchTotalTokens}`);
  }
  // Unset, the batch is as many full-length requests as the token budget holds (so the KV
  // cells allocated stay within MAX_BATCH_TOTAL_TOKENS), up to the cap.
  const maxBatchSize =
    positiveIntEnv(env, 'MAX_BATCH_SIZE') ?? Math.max(1, Math.min(DEFAULT_MAX_BATCH_SIZE_CAP, Math.floor(maxBatchTotalTokens / maxTotalTokens)));
  return {
    maxInputTokens,
    maxTotalTokens,
    maxStopSequences: positiveIntEnv(env, 'MAX_STOP_SEQUENCES', 4),
    maxTopNTokens: positiveIntEnv(env, 'MAX_TOP_N_TOKENS', 5),
    // best_of > 1 would need several sequences per request; refused as TGI does with MAX_BEST_OF=1.
    maxBestOf: 1,
    maxConcurrentRequests: positiveIntEnv(env, 'MAX_CONCURRENT_REQUESTS', 128),
    maxBatchSize,
    maxBatchTotalTokens,
  };
}

export interface ValidTgiRequest {
  generation: GenerationRequest;
  inputTokens: number;
  /** Reported in details only when sampling, as TGI does. */
  seed: number | null;
  returnFullText: boolean;
  details: boolean;
  decoderInputDetails: boolean;
}

/** TGI's `validate()`: the same checks, in the same order, with the same messages. */
export function validateTgiRequest(req: TgiRequest, limits: TgiLimits, tokenize: (text: string) => Token[]): ValidTgiRequest {
  const p = req.parameters;
  const bestOf = p.best_of ?? 1;
  const sampling = p.do_sample || p.temperature != null || p.top_k != null || p.top_p != null || p.typical_p != null;
  if (bestOf > 1 && !sampling) throw new TgiValidationError('you must use sampling when `best_of` is > 1');
  if (bestOf !== 1 && limits.maxBestOf === 1) throw new TgiValidationError('`best_of` != 1 is not allowed for this endpoint');
  if (req.stream && bestOf !== 1) throw new TgiValidationError('`best_of` != 1 is not supported when streaming tokens');
  if (req.stream && p.decoder_input_details) {
    throw new TgiValidationError('`decoder_input_details` == true is not supported when streaming tokens');
  }

  const temperature = p.temperature ?? 1;
  if (temperature <= 0) throw new TgiValidationError('`temperature` must be strictly positive');
  const repetitionPenalty = p.repetition_penalty ?? 1;
  if (repetitionPenalty <= 0) throw new TgiValidationError('`repetition_penalty` must be strictly positive');
  const frequencyPenalty = p.frequency_penalty ?? 0;
  if (frequencyPenalty < -2 || frequencyPenalty > 2) throw new TgiValidationError('`frequency_penalty` must be >= -2.0 and <= 2.0');
  if (p.top_p != null && (p.top_p <= 0 || p.top_p >= 1)) throw new TgiValidationError('`top_p` must be > 0.0 and < 1.0');
  if (p.typical_p != null && (p.typical_p <= 0 || p.typical_p >= 1)) throw new TgiValidationError('`typical_p` must be > 0.0 and < 1.0');
  if (p.top_k != null && p.top_k <= 0) throw new TgiValidationError('`top_k` must be strictly positive');
  if (p.max_new_tokens === 0) throw new TgiValidationError('`max_new_tokens` must be strictly positive');
  if (p.stop.length > limits.maxStopSequences) {
    throw new TgiValidationError(`\`stop\` supports up to ${limits.maxStopSequences} stop sequences. Given: ${p.stop.length}`);
  }
  const topN = p.top_n_tokens ?? 0;
  if (topN > limits.maxTopNTokens) {
    throw new TgiValidationError(`\`top_n_tokens\` must be >= 0 and <= ${limits.maxTopNTokens}. Given: ${topN}`);
  }
  if (req.inputs.length === 0) throw new TgiValidationError('`inputs` cannot be empty');
  if (p.truncate != null && (p.truncate === 0 || p.truncate > limits.maxInputTokens)) {
    throw new TgiValidationError(`\`truncate\` must be strictly positive and less than ${limits.maxInputTokens}. Given: ${p.truncate}`);
  }
  if (p.grammar != null) throw new TgiValidationError('grammar is not supported');

  const encoded = tokenize(req.inputs);
  // TGI truncates from the left: the end of the prompt is what the model continues.
  const input = p.truncate != null ? encoded.slice(-p.truncate) : encoded;
  const maxNewTokens = p.max_new_tokens ?? Math.min(Math.max(limits.maxTotalTokens - input.length, 0), DEFAULT_GENERATION_LENGTH);
  if (input.length + maxNewTokens > limits.maxTotalTokens) {
    throw new TgiValidationError(
      `\`inputs\` tokens + \`max_new_tokens\` must be <= ${limits.maxTotalTokens}. Given: ${input.length} \`inputs\` tokens and ${maxNewTokens} \`max_new_tokens\``,
    );
  }
  if (input.length > limits.maxInputTokens) {
    throw new TgiValidationError(`\`inputs\` must have less than ${limits.maxInputTokens} tokens. Given: ${input.length}`);
  }

  // TGI samples when asked to or when any warper changes the distribution; otherwise greedy.
  const warped = temperature !== 1 || p.top_k != null || p.top_p != null || p.typical_p != null;
  const seed = p.seed ?? randomInt(0, 2 ** 32);
  const samplingOptions: SamplingOptions | undefined =
    p.do_sample || warped ? { temperature, topK: p.top_k ?? 0, topP: p.top_p ?? 1, seed: seed % 2 ** 32 } : undefined;

  return {
    generation: {
      input,
      maxNewTokens,
      sampling: samplingOptions,
      repetitionPenalty,
      frequencyPenalty,
      stop: p.stop,
      ignoreEos: p.ignore_eos,
      topN,
    },
    inputTokens: input.length,
    seed: samplingOptions ? seed : null,
    returnFullText: p.return_full_text ?? false,
    details: p.details,
    decoderInputDetails: p.decoder_input_details,
  };
}
