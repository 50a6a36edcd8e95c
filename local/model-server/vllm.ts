// Stands in for vLLM's SageMaker container. SageMaker forwards the body to `/invocations`, and
// vLLM's entrypoint (vllm/entrypoints/sagemaker/routes.py) tries the request types in order:
// a body that validates as a ChatCompletionRequest (`messages`) is a chat completion, else one
// that validates as a CompletionRequest (`prompt`) is a text completion, else 400. Answers are
// OpenAI-shaped (openai-api.ts); validation messages and error bodies are vLLM's
// (SamplingParams._verify_args, serving_engine's context-length check, ErrorResponse).
// Settings come from SM_VLLM_* variables, as the AWS vLLM image maps them onto its arguments.
import type { Token } from 'node-llama-cpp';
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { positiveIntEnv } from './config.js';
import { sendJson } from './http-io.js';
import {
  chatMessages,
  chatRequestSchema,
  completionRequestSchema,
  type OpenAiDialect,
  type OpenAiRequest,
  respondOpenAi,
  stopSequences,
} from './openai-api.js';
import type { FamilyRuntime, InvocationHandler } from './server.js';
import type { GenerationRequest, TextGenerator } from './text-generator.js';

export interface VllmLimits {
  /** --max-model-len: prompt + completion tokens of one request. */
  maxModelLen: number;
  /** --max-num-seqs: requests decoded together. */
  maxNumSeqs: number;
  servedModelName: string;
}

// Each sequence holds maxModelLen KV cells up front here (vLLM pages its cache), so the derived
// batch is kept as small as TGI's stand-in keeps it; vLLM's own default is 256 sequences.
const DEFAULT_MAX_MODEL_LEN = 4096;
const DEFAULT_KV_BUDGET = 16_000;
const MAX_NUM_SEQS_CAP = 8;
const SAMPLING_EPS = 1e-5;

export function vllmLimitsFromEnv(env: NodeJS.ProcessEnv, trainContextSize: number): VllmLimits {
  const maxModelLen = positiveIntEnv(env, 'SM_VLLM_MAX_MODEL_LEN', Math.min(trainContextSize, DEFAULT_MAX_MODEL_LEN));
  return {
    maxModelLen,
    maxNumSeqs: positiveIntEnv(env, 'SM_VLLM_MAX_NUM_SEQS', Math.max(1, Math.min(MAX_NUM_SEQS_CAP, Math.floor(DEFAULT_KV_BUDGET / maxModelLen)))),
    servedModelName: env.SM_VLLM_SERVED_MODEL_NAME?.trim() || env.HF_MODEL_ID?.trim() || 'model',
  };
}

class VllmBadRequest extends Error {}

const NO_CHAT_TEMPLATE =
  'As of transformers v4.44, default chat template is no longer allowed, so you must provide a chat template if the tokenizer does not define one.';

/** vLLM's checks, in its order and words, then the request for the generator. */
export function vllmGeneration(req: OpenAiRequest, input: Token[], limits: VllmLimits, chat: boolean): GenerationRequest {
  const { maxModelLen } = limits;
  if (req.n != null && req.n !== 1) throw new VllmBadRequest(`n=${req.n} is not supported by the local cloud (one sequence per request)`);
  if (input.length >= maxModelLen) {
    throw new VllmBadRequest(
      `This model's maximum context length is ${maxModelLen} tokens. However, your request has ${input.length} input tokens. Please reduce the length of the input ${chat ? 'messages' : 'prompt'}.`,
    );
  }
  const requested = ('max_completion_tokens' in req ? req.max_completion_tokens : undefined) ?? req.max_tokens;
  if (requested != null && requested < 1) throw new VllmBadRequest(`max_tokens must be at least 1, got ${requested}.`);
  const maxTokens = requested ?? maxModelLen - input.length;
  if (input.length + maxTokens > maxModelLen) {
    throw new VllmBadRequest(
      `This model's maximum context length is ${maxModelLen} tokens. However, you requested ${input.length + maxTokens} tokens (${input.length} in the ${chat ? 'messages' : 'prompt'}, ${maxTokens} in the completion). Please reduce the length of the ${chat ? 'messages' : 'prompt'} or completion.`,
    );
  }
  const temperature = req.temperature ?? 1;
  if (temperature < 0) throw new VllmBadRequest(`temperature must be non-negative, got ${temperature}.`);
  const topP = req.top_p ?? 1;
  if (!(topP > 0 && topP <= 1)) throw new VllmBadRequest(`top_p must be in (0, 1], got ${topP}.`);
  const topK = req.top_k ?? 0;
  if (topK < -1) throw new VllmBadRequest(`top_k must be -1 (disable), or at least 1, got ${topK}.`);
  const repetitionPenalty = req.repetition_penalty ?? 1;
  if (repetitionPenalty <= 0) throw new VllmBadRequest(`repetition_penalty must be greater than zero, got ${repetitionPenalty}.`);
  const frequencyPenalty = req.frequency_penalty ?? 0;
  if (frequencyPenalty < -2 || frequencyPenalty > 2) throw new VllmBadRequest(`frequency_penalty must be in [-2, 2], got ${frequencyPenalty}.`);
  return {
    input,
    maxNewTokens: maxTokens,
    // Below vLLM's epsilon the temperature means greedy decoding, and the warpers are ignored.
    sampling: temperature < SAMPLING_EPS ? undefined : { temperature, topK: Math.max(topK, 0), topP, seed: (req.seed ?? randomInt(0, 2 ** 32)) % 2 ** 32 },
    repetitionPenalty,
    frequencyPenalty,
    stop: stopSequences(req.stop),
    ignoreEos: req.ignore_eos ?? false,
    topN: 0,
  };
}

const errorBody = (message: string, code: number) => ({
  error: { message, type: code === 400 ? 'BadRequestError' : 'InternalServerError', param: null, code },
});

const VLLM_DIALECT: OpenAiDialect = {
  // vLLM reports "stop" for end-of-sequence and stop strings alike, naming the string in stop_reason.
  finishReason: (reason) => (reason === 'length' ? 'length' : 'stop'),
  trimsStop: true,
  roleDelta: 'opening-chunk',
  framing: { sse: 'data: ' },
  extra: {},
  errorBody,
};

export function createVllmHandler(generator: TextGenerator, limits: VllmLimits, logger: Logger): InvocationHandler {
  return {
    async invoke(invocation, res) {
      let json: unknown;
      try {
        json = JSON.parse(invocation.body.toString('utf8'));
      } catch (err) {
        sendJson(res, 400, errorBody(`JSON decode error: ${(err as Error).message}`, 400));
        return;
      }
      const chat = chatRequestSchema.safeParse(json);
      const completion = chat.success ? undefined : completionRequestSchema.safeParse(json);
      if (!chat.success && !completion?.success) {
        sendJson(res, 400, errorBody("Cannot find suitable handler for request. Expected one of: ['ChatCompletionRequest', 'CompletionRequest']", 400));
        return;
      }
      let generation: GenerationRequest;
      let request: OpenAiRequest;
      let renderedPrompt: string | undefined;
      try {
        if (chat.success) {
          request = chat.data;
          if (!generator.chatTemplate) throw new VllmBadRequest(NO_CHAT_TEMPLATE);
          const rendered = generator.chatTemplate.render(chatMessages(chat.data));
          renderedPrompt = rendered.text;
          generation = vllmGeneration(request, rendered.tokens, limits, true);
        } else {
          request = completion!.data!;
          generation = vllmGeneration(request, generator.tokenize(completion!.data!.prompt), limits, false);
        }
      } catch (err) {
        if (!(err instanceof VllmBadRequest)) throw err;
        sendJson(res, 400, errorBody(err.message, 400));
        return;
      }
      await respondOpenAi(
        {
          kind: chat.success ? 'chat' : 'text',
          generation,
          promptTokens: generation.input.length,
          model: request.model ?? limits.servedModelName,
          stream: request.stream ?? false,
          includeUsage: request.stream_options?.include_usage ?? false,
          renderedPrompt,
        },
        generator,
        VLLM_DIALECT,
        invocation,
        res,
        logger,
      );
    },
  };
}

export const vllmRuntime: FamilyRuntime = {
  configure(env, trainContextSize) {
    const limits = vllmLimitsFromEnv(env, trainContextSize);
    return {
      layout: { contextSize: limits.maxModelLen, sequences: limits.maxNumSeqs, maxBatchTotalTokens: limits.maxModelLen * limits.maxNumSeqs },
      createHandler: (generator, logger) => createVllmHandler(generator, limits, logger),
    };
  },
};
