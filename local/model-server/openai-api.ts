// OpenAI-compatible chat and text completions as vLLM's server, TGI's Messages API and LMI's chat
// schema answer them: the request bodies, the JSON responses, and the chunk streams (server-sent
// events ending with `data: [DONE]`, or LMI's JSON lines). The families differ in how they
// validate and word errors, name finish reasons and frame the stream, so each passes its
// dialect; the shapes are the OpenAI API's (vllm/entrypoints/openai/protocol.py, TGI
// router/src/lib.rs ChatCompletion*, djl_python/output_formatter.py _json[lines]_chat_*).
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ChatMessage } from './chat-template.js';
import { type Invocation, RENDERED_PROMPT_HEADER } from './server.js';
import type { FinishReason, GenerationRequest, TextGenerator } from './text-generator.js';

const textPart = z.object({ type: z.literal('text'), text: z.string() }).loose();
const messageSchema = z
  .object({
    role: z.enum(['system', 'user', 'assistant']),
    content: z.union([z.string(), z.array(textPart)]),
  })
  .loose();

/** The sampling fields both endpoints share (top_k, repetition_penalty, ignore_eos: vLLM's extensions). */
const samplingFields = {
  model: z.string().nullish(),
  max_tokens: z.number().int().nullish(),
  max_completion_tokens: z.number().int().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  top_k: z.number().int().nullish(),
  repetition_penalty: z.number().nullish(),
  frequency_penalty: z.number().nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  n: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).loose().nullish(),
  ignore_eos: z.boolean().nullish(),
};

export const chatRequestSchema = z.object({ messages: z.array(messageSchema), ...samplingFields }).loose();
/** A single prompt string (the OpenAI API also takes lists of prompts or token ids; not served here). */
export const completionRequestSchema = z.object({ prompt: z.string(), ...samplingFields }).loose();
export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type CompletionRequest = z.infer<typeof completionRequestSchema>;
export type OpenAiRequest = ChatRequest | CompletionRequest;

/** Text parts are joined with newlines, as vLLM does. */
export function chatMessages(req: ChatRequest): ChatMessage[] {
  return req.messages.map((m) => ({ role: m.role, content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('\n') }));
}

export const stopSequences = (stop: OpenAiRequest['stop']): string[] => (stop == null ? [] : typeof stop === 'string' ? [stop] : stop);

export interface OpenAiDialect {
  /** The finish_reason the family reports. */
  finishReason(reason: FinishReason): string;
  /** vLLM drops the matched stop string from the output and names it in `stop_reason`; TGI keeps it. */
  trimsStop: boolean;
  /** vLLM opens a chat stream with a role-only chunk; TGI names the role in every delta; LMI in the first. */
  roleDelta: 'opening-chunk' | 'every-delta' | 'first-delta';
  /** Server-sent events with this field prefix (`data: ` Starlette/vLLM, `data:` axum/TGI) ending `[DONE]`, or JSON lines (LMI). */
  framing: { sse: string } | 'jsonlines';
  /** Fields the family adds to every response object (TGI: system_fingerprint). */
  extra: Record<string, unknown>;
  errorBody(message: string, status: number): unknown;
}

export interface OpenAiCall {
  kind: 'chat' | 'text';
  generation: GenerationRequest;
  promptTokens: number;
  /** Echoed in each response object; LMI names no model. */
  model?: string;
  stream: boolean;
  includeUsage: boolean;
  /** The chat template's rendering, echoed in a local-only header. */
  renderedPrompt?: string;
}

/** Where the text stops, with the stop string that ended it (dialects that trim it). */
function cutAtStop(text: string, stops: readonly string[]): { text: string; stop: string | null } {
  let best: { at: number; stop: string } | undefined;
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at >= 0 && (!best || at < best.at)) best = { at, stop };
  }
  return best ? { text: text.slice(0, best.at), stop: best.stop } : { text, stop: null };
}

export async function respondOpenAi(
  call: OpenAiCall,
  generator: TextGenerator,
  dialect: OpenAiDialect,
  invocation: Invocation,
  res: ServerResponse,
  logger: Logger,
) {
  const id = `${call.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`;
  const created = Math.floor(Date.now() / 1000);
  const object = call.kind === 'chat' ? 'chat.completion' : 'text_completion';
  const head = { id, created, ...(call.model !== undefined ? { model: call.model } : {}), ...dialect.extra };
  const usageOf = (completion: number) => ({ prompt_tokens: call.promptTokens, completion_tokens: completion, total_tokens: call.promptTokens + completion });
  const finish = (reason: FinishReason, text: string) => {
    const cut = dialect.trimsStop && reason === 'stop_sequence' ? cutAtStop(text, call.generation.stop) : { text, stop: null };
    return { text: cut.text, finish: { finish_reason: dialect.finishReason(reason), ...(dialect.trimsStop ? { stop_reason: cut.stop } : {}) } };
  };

  if (call.renderedPrompt !== undefined) res.setHeader(RENDERED_PROMPT_HEADER, encodeURIComponent(call.renderedPrompt));
  if (!call.stream) {
    const run = generator.generate({ ...call.generation, logprobs: false, signal: invocation.signal });
    let step = await run.next();
    while (!step.done) step = await run.next();
    if (invocation.signal.aborted) return;
    const { finishReason, text, generatedTokens } = step.value;
    if (!finishReason) throw new Error('incomplete generation');
    const out = finish(finishReason, text);
    const choice =
      call.kind === 'chat'
        ? { index: 0, message: { role: 'assistant', content: out.text }, logprobs: null, ...out.finish }
        : { index: 0, text: out.text, logprobs: null, ...out.finish };
    const payload = Buffer.from(JSON.stringify({ ...head, object, choices: [choice], usage: usageOf(generatedTokens) }));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': payload.length });
    res.end(payload);
    return;
  }

  const { framing } = dialect;
  res.writeHead(200, {
    'Content-Type': framing === 'jsonlines' ? 'application/jsonlines' : 'text/event-stream',
    'Cache-Control': 'no-cache',
    'X-Accel-Buffering': 'no',
  });
  const write = (data: unknown) => {
    const json = typeof data === 'string' ? data : JSON.stringify(data);
    res.write(framing === 'jsonlines' ? `${json}\n` : `${framing.sse}${json}\n\n`);
  };
  const chunkObject = call.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  const chunk = (text: string, finished: Record<string, unknown> | undefined, first: boolean) =>
    write({
      ...head,
      object: chunkObject,
      choices: [
        call.kind === 'chat'
          ? {
              index: 0,
              delta: dialect.roleDelta === 'every-delta' || first ? { role: 'assistant', content: text } : { content: text },
              logprobs: null,
              finish_reason: null,
              ...finished,
            }
          : { index: 0, text, logprobs: null, finish_reason: null, ...finished },
      ],
    });
  // vLLM opens a chat stream with the assistant's role and no content yet.
  if (call.kind === 'chat' && dialect.roleDelta === 'opening-chunk') chunk('', undefined, true);
  let first = dialect.roleDelta === 'first-delta';
  let text = '';
  let generated = 0;
  try {
    for await (const token of generator.generate({ ...call.generation, logprobs: false, signal: invocation.signal })) {
      generated += 1;
      const before = text;
      if (!token.special) text += token.text;
      if (token.finishReason) {
        const out = finish(token.finishReason, text);
        chunk(out.text.slice(before.length), out.finish, first);
      } else if (!token.special) {
        chunk(token.text, undefined, first);
      } else continue;
      first = false;
    }
  } catch (err) {
    if (invocation.signal.aborted) return;
    logger.error({ err }, 'generation failed');
    write(dialect.errorBody(`Request failed during generation: ${String(err)}`, 500));
  }
  if (invocation.signal.aborted) return;
  if (call.includeUsage) write({ ...head, object: chunkObject, choices: [], usage: usageOf(generated) });
  if (framing !== 'jsonlines') write('[DONE]');
  res.end();
}
