// Stands in for the Hugging Face TGI image's `/invocations`: `{"inputs","parameters","stream"}`
// in, `[{"generated_text"}]` out, or TGI's server-sent events when `stream` is true. Error
// statuses and bodies follow TGI's router: 422 validation, 424 generation, 429 overloaded,
// and (as axum does) plain-text 400/422 when the body is not JSON or not the expected shape.
// Like TGI, a streaming request that fails validation still gets 200 and an SSE error event.
// A `messages` body is TGI's Messages API (router/src/sagemaker.rs: the untagged SagemakerRequest
// tries Generate, then Chat): the model's chat template renders the prompt, TGI's validation
// applies, and the answer is OpenAI-shaped (openai-api.ts), its stream ending `data:[DONE]`.
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Token } from 'node-llama-cpp';
import { sendJson, sendText } from './http-io.js';
import { chatMessages, type ChatRequest, chatRequestSchema, type OpenAiDialect, respondOpenAi, stopSequences } from './openai-api.js';
import type { FamilyRuntime, Invocation, InvocationHandler } from './server.js';
import type { GeneratedToken, TextGenerator, TokenInfo } from './text-generator.js';
import { type TgiLimits, TgiValidationError, tgiLimitsFromEnv, tgiRequestSchema, type ValidTgiRequest, validateTgiRequest } from './tgi-request.js';

type ErrorType = 'validation' | 'generation' | 'overloaded' | 'incomplete_generation' | 'template_error';
const STATUS: Record<ErrorType, number> = { validation: 422, generation: 424, overloaded: 429, incomplete_generation: 500, template_error: 422 };

const TGI_CHAT_DIALECT: OpenAiDialect = {
  // FinishReason::format(true): end of sequence is OpenAI's "stop"; the others keep TGI's names.
  finishReason: (reason) => (reason === 'eos_token' ? 'stop' : reason),
  trimsStop: false,
  roleDelta: 'every-delta',
  framing: { sse: 'data:' },
  extra: { system_fingerprint: 'local-cloud-native' },
  errorBody: (error, status) => ({ error, error_type: status === 422 ? 'validation' : 'generation' }),
};

/** TGI's ChatRequest → its generate parameters: temperature 0 means greedy, unset means sampling. */
function chatParameters(req: ChatRequest) {
  const greedy = req.temperature === 0;
  return {
    max_new_tokens: req.max_tokens ?? undefined,
    do_sample: !greedy,
    temperature: greedy ? undefined : (req.temperature ?? undefined),
    top_p: req.top_p ?? undefined,
    seed: req.seed ?? undefined,
    frequency_penalty: req.frequency_penalty ?? undefined,
    stop: stopSequences(req.stop),
  };
}

const asToken = ({ id, text, logprob, special }: TokenInfo) => ({ id, text, logprob, special });

export function createTgiHandler(generator: TextGenerator, limits: TgiLimits, logger: Logger, modelId = 'tgi'): InvocationHandler {
  function errorBody(error: string, errorType: ErrorType) {
    return { error, error_type: errorType };
  }

  function prefillTokens(valid: ValidTgiRequest) {
    // Prompt log-probabilities are not computed here; TGI leaves the first one null as well.
    const prompt = valid.generation.input;
    return prompt.map((id: Token, i) => ({
      id,
      text: generator.detokenize([id], prompt.slice(Math.max(0, i - 8), i)),
      logprob: null,
    }));
  }

  async function respondJson(inputs: string, valid: ValidTgiRequest, invocation: Invocation, res: ServerResponse) {
    const started = performance.now();
    const tokens: GeneratedToken[] = [];
    // A JSON answer lists its tokens (with their logprob) only with details.
    const run = generator.generate({ ...valid.generation, logprobs: valid.details, signal: invocation.signal });
    let step = await run.next();
    for (; !step.done; step = await run.next()) tokens.push(step.value);
    const { finishReason, text, generatedTokens } = step.value;
    if (invocation.signal.aborted) return;
    if (!finishReason) {
      sendJson(res, STATUS.incomplete_generation, errorBody('Incomplete generation', 'incomplete_generation'));
      return;
    }
    const generation: Record<string, unknown> = { generated_text: valid.returnFullText ? inputs + text : text };
    if (valid.details) {
      generation.details = {
        finish_reason: finishReason,
        generated_tokens: generatedTokens,
        seed: valid.seed,
        prefill: valid.decoderInputDetails ? prefillTokens(valid) : [],
        tokens: tokens.map(asToken),
        ...(valid.generation.topN > 0 ? { top_tokens: tokens.map((t) => t.top.map(asToken)) } : {}),
      };
    }
    sendJson(res, 200, [generation], {
      'x-compute-type': 'cpu',
      'x-prompt-tokens': valid.inputTokens,
      'x-generated-tokens': generatedTokens,
      'x-total-time': Math.round(performance.now() - started),
    });
  }

  function writeEvent(res: ServerResponse, event: unknown) {
    res.write(`data:${JSON.stringify(event)}\n\n`);
  }

  async function respondStream(inputs: string, validate: () => ValidTgiRequest, invocation: Invocation, res: ServerResponse) {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      'X-Accel-Buffering': 'no',
      'x-compute-type': 'cpu',
    });
    let valid: ValidTgiRequest;
    try {
      valid = validate();
    } catch (err) {
      if (!(err instanceof TgiValidationError)) throw err;
      writeEvent(res, errorBody(err.message, 'validation'));
      res.end();
      return;
    }
    let index = 0;
    let text = '';
    let ended = false;
    try {
      for await (const token of generator.generate({ ...valid.generation, logprobs: true, signal: invocation.signal })) {
        index += 1;
        if (!token.special) text += token.text;
        // The final event carries the whole text (and details when asked), as TGI's does.
        const finishReason = token.finishReason;
        writeEvent(res, {
          index,
          token: asToken(token),
          ...(token.top.length > 0 ? { top_tokens: token.top.map(asToken) } : {}),
          generated_text: finishReason ? (valid.returnFullText ? inputs + text : text) : null,
          details:
            finishReason && valid.details ? { finish_reason: finishReason, generated_tokens: index, seed: valid.seed, input_length: valid.inputTokens } : null,
        });
        ended = finishReason !== undefined;
      }
    } catch (err) {
      // The caller left (perhaps while the request waited for the batch): no one to tell.
      if (!invocation.signal.aborted) {
        logger.error({ err }, 'generation failed');
        writeEvent(res, errorBody(`Request failed during generation: ${String(err)}`, 'generation'));
      }
      res.end();
      return;
    }
    if (!ended && !invocation.signal.aborted) writeEvent(res, errorBody('Incomplete generation stream', 'incomplete_generation'));
    res.end();
  }

  async function respondChat(req: ChatRequest, invocation: Invocation, res: ServerResponse) {
    if (!generator.chatTemplate) {
      sendJson(res, STATUS.template_error, errorBody('Template error: template not found', 'template_error'));
      return;
    }
    if (generator.inFlight >= limits.maxConcurrentRequests) {
      sendJson(res, STATUS.overloaded, errorBody('Model is overloaded', 'overloaded'));
      return;
    }
    const rendered = generator.chatTemplate.render(chatMessages(req));
    let valid: ValidTgiRequest;
    try {
      const request = tgiRequestSchema.parse({ inputs: rendered.text, parameters: chatParameters(req), stream: req.stream ?? false });
      valid = validateTgiRequest(request, limits, () => rendered.tokens);
    } catch (err) {
      if (!(err instanceof TgiValidationError)) throw err;
      sendJson(res, STATUS.validation, errorBody(err.message, 'validation'));
      return;
    }
    await respondOpenAi(
      {
        kind: 'chat',
        generation: valid.generation,
        promptTokens: valid.inputTokens,
        model: req.model ?? modelId,
        stream: req.stream ?? false,
        includeUsage: req.stream_options?.include_usage ?? false,
        renderedPrompt: rendered.text,
      },
      generator,
      TGI_CHAT_DIALECT,
      invocation,
      res,
      logger,
    );
  }

  return {
    async invoke(invocation, res) {
      let json: unknown;
      try {
        json = JSON.parse(invocation.body.toString('utf8'));
      } catch (err) {
        sendText(res, 400, `Failed to parse the request body as JSON: ${(err as Error).message}`);
        return;
      }
      const parsed = tgiRequestSchema.safeParse(json);
      const chat = parsed.success ? undefined : chatRequestSchema.safeParse(json);
      if (chat?.success) {
        await respondChat(chat.data, invocation, res);
        return;
      }
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
        sendText(res, 422, `Failed to deserialize the JSON body into the target type: ${where}${issue.message}`);
        return;
      }
      const request = parsed.data;
      if (generator.inFlight >= limits.maxConcurrentRequests) {
        sendJson(res, STATUS.overloaded, errorBody('Model is overloaded', 'overloaded'));
        return;
      }
      const validate = () => validateTgiRequest(request, limits, (text) => generator.tokenize(text));
      if (request.stream) {
        await respondStream(request.inputs, validate, invocation, res);
        return;
      }
      let valid: ValidTgiRequest;
      try {
        valid = validate();
      } catch (err) {
        if (!(err instanceof TgiValidationError)) throw err;
        sendJson(res, STATUS.validation, errorBody(err.message, 'validation'));
        return;
      }
      try {
        await respondJson(request.inputs, valid, invocation, res);
      } catch (err) {
        if (invocation.signal.aborted) return;
        logger.error({ err }, 'generation failed');
        sendJson(res, STATUS.generation, errorBody(`Request failed during generation: ${String(err)}`, 'generation'));
      }
    },
  };
}

export const tgiRuntime: FamilyRuntime = {
  configure(env, trainContextSize) {
    const limits = tgiLimitsFromEnv(env, trainContextSize);
    return {
      layout: { contextSize: limits.maxTotalTokens, sequences: limits.maxBatchSize, maxBatchTotalTokens: limits.maxBatchTotalTokens },
      createHandler: (generator, logger) => createTgiHandler(generator, limits, logger, env.HF_MODEL_ID?.trim() || 'tgi'),
    };
  },
};
