// Stands in for the DJL LMI image (djl-inference, rolling batch). `{"inputs","parameters"}` in,
// `{"generated_text"}` out; with `"stream": true`, LMI's default streaming output formatter,
// JSON lines of `{"token": {"id","text","log_prob"}}` whose last line adds `generated_text`
// (djl_python/output_formatter.py _jsonlines_output_formatter). A body with `messages` is LMI's
// chat completions schema (chat_utils.is_chat_completions_request): the tokenizer's chat template
// renders the prompt and the answer is OpenAI-shaped, streamed as JSON lines of
// chat.completion.chunk objects without `[DONE]` (_json_chat / _jsonlines_chat formatters).
// Parameters are checked by TGI's rules (tgi-request.ts), which LMI's names follow; failures are
// LMI's 424 `{"error", "code"}`. Settings: OPTION_MAX_MODEL_LEN, OPTION_MAX_ROLLING_BATCH_SIZE.
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { positiveIntEnv } from './config.js';
import { sendJson } from './http-io.js';
import { chatMessages, type ChatRequest, chatRequestSchema, type OpenAiDialect, respondOpenAi, stopSequences } from './openai-api.js';
import type { FamilyRuntime, Invocation, InvocationHandler } from './server.js';
import type { TextGenerator } from './text-generator.js';
import { type TgiLimits, TgiValidationError, tgiRequestSchema, type ValidTgiRequest, validateTgiRequest } from './tgi-request.js';

const DEFAULT_MAX_MODEL_LEN = 4096;
const DEFAULT_KV_BUDGET = 16_000;
const MAX_ROLLING_BATCH_CAP = 8;
// LMI's default when a request names no max_new_tokens (docs: lmi_input_output_schema).
const DEFAULT_MAX_NEW_TOKENS = 30;
const LMI_ERROR_STATUS = 424;

export function lmiLimitsFromEnv(env: NodeJS.ProcessEnv, trainContextSize: number): TgiLimits {
  const maxModelLen = positiveIntEnv(env, 'OPTION_MAX_MODEL_LEN', Math.min(trainContextSize, DEFAULT_MAX_MODEL_LEN));
  const batch = positiveIntEnv(env, 'OPTION_MAX_ROLLING_BATCH_SIZE', Math.max(1, Math.min(MAX_ROLLING_BATCH_CAP, Math.floor(DEFAULT_KV_BUDGET / maxModelLen))));
  return {
    maxInputTokens: maxModelLen - 1,
    maxTotalTokens: maxModelLen,
    maxStopSequences: 4,
    maxTopNTokens: 5,
    maxBestOf: 1,
    maxConcurrentRequests: Number.MAX_SAFE_INTEGER,
    maxBatchSize: batch,
    maxBatchTotalTokens: maxModelLen * batch,
  };
}

const NO_CHAT_TEMPLATE =
  'Cannot use chat template functions because tokenizer.chat_template is not set and no template argument was passed! For information about writing templates and setting the tokenizer.chat_template attribute, please see the documentation at https://huggingface.co/docs/transformers/main/en/chat_templating';

const errorBody = (error: string) => ({ error, code: LMI_ERROR_STATUS });

const LMI_CHAT_DIALECT: OpenAiDialect = {
  finishReason: (reason) => reason,
  trimsStop: false,
  roleDelta: 'first-delta',
  framing: 'jsonlines',
  extra: {},
  errorBody,
};

/** Sampling only with do_sample, as Hugging Face generation does: a lone temperature is ignored. */
function lmiParameters(parameters: Record<string, unknown> | undefined) {
  const p: Record<string, unknown> = { max_new_tokens: DEFAULT_MAX_NEW_TOKENS, ...parameters };
  if (p.do_sample === true) return p;
  const { temperature: _t, top_k: _k, top_p: _p, typical_p: _y, ...greedy } = p;
  return greedy;
}

export function createLmiHandler(generator: TextGenerator, limits: TgiLimits, logger: Logger): InvocationHandler {
  const validate = (body: unknown, tokens?: () => ReturnType<TextGenerator['tokenize']>): ValidTgiRequest => {
    const request = tgiRequestSchema.parse(body);
    return validateTgiRequest(request, limits, tokens ?? ((text) => generator.tokenize(text)));
  };

  async function respondInputs(inputs: string, valid: ValidTgiRequest, stream: boolean, invocation: Invocation, res: ServerResponse) {
    const full = (text: string) => (valid.returnFullText ? inputs + text : text);
    // Only LMI's streamed lines carry a token's log_prob.
    const run = generator.generate({ ...valid.generation, logprobs: stream, signal: invocation.signal });
    if (!stream) {
      let step = await run.next();
      while (!step.done) step = await run.next();
      if (invocation.signal.aborted) return;
      const { finishReason, text, generatedTokens } = step.value;
      sendJson(res, 200, {
        generated_text: full(text),
        ...(valid.details ? { details: { finish_reason: finishReason ?? 'error', generated_tokens: generatedTokens, inputs } } : {}),
      });
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/jsonlines', 'Cache-Control': 'no-cache' });
    let text = '';
    let count = 0;
    try {
      for await (const token of run) {
        count += 1;
        if (!token.special) text += token.text;
        // Token.as_dict() leaves out empty fields (an end-of-sequence token has no text).
        const line: Record<string, unknown> = {
          token: {
            id: token.id,
            ...(token.special ? {} : token.text ? { text: token.text } : {}),
            log_prob: token.logprob,
            ...(token.special ? { special_token: true } : {}),
          },
        };
        if (token.finishReason) {
          line.generated_text = full(text);
          if (valid.details) line.details = { finish_reason: token.finishReason, generated_tokens: count, inputs };
        }
        res.write(`${JSON.stringify(line)}\n`);
      }
    } catch (err) {
      if (!invocation.signal.aborted) {
        logger.error({ err }, 'generation failed');
        res.write(`${JSON.stringify(errorBody(`Request failed during generation: ${String(err)}`))}\n`);
      }
    }
    res.end();
  }

  async function respondChat(req: ChatRequest, invocation: Invocation, res: ServerResponse) {
    if (!generator.chatTemplate) {
      sendJson(res, LMI_ERROR_STATUS, errorBody(NO_CHAT_TEMPLATE));
      return;
    }
    const rendered = generator.chatTemplate.render(chatMessages(req));
    // ChatProperties → generation parameters: do_sample only for a positive temperature.
    const sample = req.temperature != null && req.temperature > 0;
    const valid = validate(
      {
        inputs: rendered.text,
        parameters: {
          max_new_tokens: req.max_tokens ?? DEFAULT_MAX_NEW_TOKENS,
          do_sample: sample,
          ...(sample ? { temperature: req.temperature, top_p: req.top_p ?? undefined } : {}),
          seed: req.seed ?? undefined,
          frequency_penalty: req.frequency_penalty ?? undefined,
          stop: stopSequences(req.stop),
        },
      },
      () => rendered.tokens,
    );
    await respondOpenAi(
      {
        kind: 'chat',
        generation: valid.generation,
        promptTokens: valid.inputTokens,
        stream: req.stream ?? false,
        includeUsage: false,
        renderedPrompt: rendered.text,
      },
      generator,
      LMI_CHAT_DIALECT,
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
        sendJson(res, LMI_ERROR_STATUS, errorBody(`Failed to parse the request body as JSON: ${(err as Error).message}`));
        return;
      }
      try {
        if (json !== null && typeof json === 'object' && 'messages' in json) {
          const chat = chatRequestSchema.safeParse(json);
          if (!chat.success) throw new TgiValidationError(`Invalid chat completions request: ${chat.error.issues[0]?.message}`);
          await respondChat(chat.data, invocation, res);
          return;
        }
        const body = json as { inputs?: unknown; parameters?: Record<string, unknown>; stream?: unknown };
        if (typeof body.inputs !== 'string') throw new TgiValidationError('Input prompt is required: the body must carry `inputs` (a string) or `messages`');
        const valid = validate({ ...body, parameters: lmiParameters(body.parameters) });
        await respondInputs(body.inputs, valid, body.stream === true, invocation, res);
      } catch (err) {
        if (!(err instanceof TgiValidationError) && !(err instanceof Error && err.name === 'ZodError')) throw err;
        if (!res.headersSent) sendJson(res, LMI_ERROR_STATUS, errorBody(err.message));
      }
    },
  };
}

export const lmiRuntime: FamilyRuntime = {
  configure(env, trainContextSize) {
    const limits = lmiLimitsFromEnv(env, trainContextSize);
    return {
      layout: { contextSize: limits.maxTotalTokens, sequences: limits.maxBatchSize, maxBatchTotalTokens: limits.maxBatchTotalTokens },
      createHandler: (generator, logger) => createLmiHandler(generator, limits, logger),
    };
  },
};
