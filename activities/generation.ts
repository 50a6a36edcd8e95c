// What each container format an endpoint can speak (common/container-format.ts) expects and
// answers: one builder of generation request bodies, plain and streamed, and one parser per
// format of their responses (TGI's events, the OpenAI chunks of vLLM and TGI's Messages API that
// end `data: [DONE]`, LMI's JSON lines). No I/O here: activities/runtime.ts sends what this
// builds, and the generate activity, the RAG service's /rag/stream and `llmops invoke [--stream]`
// all go through it.
import { type ChatMessage, type ContainerFormat, type GenerationPrompt, isChatFormat } from '../common/container-format.js';
import type { Generation } from '../common/rag-input.js';
import { ServerSentEventParser, type ServerSentEvent } from './server-sent-events.js';

export type { ChatMessage, ContainerFormat, GenerationPrompt };

export interface GenerationParameters {
  max_new_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  repetition_penalty?: number;
  /** TGI decodes greedily unless do_sample is true (temperature must then be > 0). */
  do_sample?: boolean;
  return_full_text?: boolean;
  stop?: string[];
  seed?: number;
}

/**
 * The parameters sent for a ragQuery generation: greedy decoding sends no sampling parameter
 * (TGI samples as soon as one is set), and `greedy` itself is ours, not the container's.
 */
export function ragGenerationParameters(generation: Generation): GenerationParameters {
  const { greedy, stop, temperature, top_p, ...rest } = generation;
  return { ...rest, ...(greedy ? {} : { temperature, top_p }), ...(stop?.length ? { stop } : {}) };
}

/**
 * The request body for a generation. TGI returns only the continuation when asked
 * (return_full_text: false); LMI has no such flag and samples only with do_sample. The OpenAI
 * formats decode greedily at temperature 0, so a request without sampling parameters (TGI's
 * greedy) sends that. `stream` asks for the tokens as they are sampled.
 */
export function generationRequestBody(
  format: ContainerFormat,
  prompt: GenerationPrompt,
  parameters: GenerationParameters = {},
  { stream = false } = {},
): string {
  const streamField = stream ? { stream: true } : {};
  if (isChatFormat(format) || format === 'vllm-completions') {
    const { max_new_tokens, temperature, top_p, top_k, repetition_penalty, do_sample, stop, seed } = parameters;
    const vllm = format.startsWith('vllm') ? { top_k, repetition_penalty } : {};
    const input = isChatFormat(format)
      ? { messages: typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : prompt }
      : { prompt: textPrompt(format, prompt) };
    return JSON.stringify({
      ...input,
      max_tokens: max_new_tokens,
      temperature: temperature ?? (do_sample ? 1 : 0),
      top_p,
      ...vllm,
      stop,
      seed,
      ...streamField,
    });
  }
  const inputs = textPrompt(format, prompt);
  if (format === 'lmi') {
    const { return_full_text: _unsupported, ...rest } = parameters;
    return JSON.stringify({ inputs, parameters: { do_sample: rest.temperature !== undefined, ...rest }, ...streamField });
  }
  return JSON.stringify({ inputs, parameters: { return_full_text: false, ...parameters }, ...streamField });
}

function textPrompt(format: ContainerFormat, prompt: GenerationPrompt): string {
  if (typeof prompt === 'string') return prompt;
  throw new Error(`format ${format} takes a prompt string, not messages (use a chat format: tgi-messages, vllm-chat or lmi-chat)`);
}

/** The generated text of a whole (non-streamed) response in `format`. */
export function parseGenerationResponse(format: ContainerFormat, body: string): string {
  const parsed: unknown = JSON.parse(body);
  if (isChatFormat(format) || format === 'vllm-completions') {
    const choice = (parsed as { choices?: Array<{ message?: { content?: unknown }; text?: unknown }> }).choices?.[0];
    const text = isChatFormat(format) ? choice?.message?.content : choice?.text;
    if (typeof text !== 'string') throw new Error(`Unexpected ${format} response: ${body.slice(0, 200)}`);
    return text;
  }
  // TGI answers `[{"generated_text"}]`; LMI (and some TGI versions) the object alone.
  const first = Array.isArray(parsed) ? parsed[0] : parsed;
  const text = (first as { generated_text?: unknown } | undefined)?.generated_text;
  if (typeof text !== 'string') throw new Error(`Unexpected TGI/LMI response: ${body.slice(0, 200)}`);
  return text;
}

/** Turns a streamed generation's bytes into token texts, and keeps the final generated_text. */
export interface GenerationStreamParser {
  push(bytes: Uint8Array): string[];
  /** Whatever the stream's last part left unterminated. */
  end(): string[];
  readonly generatedText: string | undefined;
}

type StreamEvent = {
  token?: { text?: string; special?: boolean; special_token?: boolean };
  generated_text?: string | null;
  choices?: Array<{ delta?: { content?: string | null }; text?: string }>;
  error?: string | { message?: string };
};

/** The parser for `format`'s streamed responses. */
export function generationStreamParser(format: ContainerFormat): GenerationStreamParser {
  return format === 'lmi' || format === 'lmi-chat' ? new JsonLinesParser() : new EventStreamParser();
}

/**
 * What one streamed object holds, whatever the format: TGI's and LMI's `{"token", "generated_text"}`,
 * an OpenAI chunk's `choices[0].delta.content` (chat) or `choices[0].text` (completions), or an error.
 */
abstract class StreamObjects implements GenerationStreamParser {
  generatedText: string | undefined;

  protected tokensOf(payloads: string[]): string[] {
    const tokens: string[] = [];
    for (const data of payloads) {
      // The OpenAI streams' terminator (vLLM, TGI's Messages API).
      if (data.trim() === '[DONE]') continue;
      const event = JSON.parse(data) as StreamEvent;
      if (event.error)
        throw new Error(`Model stream error: ${typeof event.error === 'string' ? event.error : (event.error.message ?? JSON.stringify(event.error))}`);
      const choice = event.choices?.[0];
      const text = event.token
        ? event.token.special || event.token.special_token
          ? undefined
          : (event.token.text ?? '')
        : (choice?.delta?.content ?? choice?.text);
      if (text) tokens.push(text);
      if (typeof event.generated_text === 'string') this.generatedText = event.generated_text;
    }
    return tokens;
  }

  abstract push(bytes: Uint8Array): string[];
  abstract end(): string[];
}

/** Server-sent events: TGI's token events, and the OpenAI chunks ending `data: [DONE]`. */
class EventStreamParser extends StreamObjects {
  private readonly events = new ServerSentEventParser();

  push(bytes: Uint8Array): string[] {
    return this.tokensOf(this.events.push(bytes).map(({ data }: ServerSentEvent) => data));
  }

  end(): string[] {
    return this.tokensOf(this.events.end().map(({ data }: ServerSentEvent) => data));
  }
}

/** LMI's JSON lines, which a payload part may split anywhere. */
class JsonLinesParser extends StreamObjects {
  private readonly decoder = new TextDecoder();
  private pending = '';

  push(bytes: Uint8Array): string[] {
    const lines = (this.pending + this.decoder.decode(bytes, { stream: true })).split('\n');
    this.pending = lines.pop() ?? '';
    return this.tokensOf(lines.filter((l) => l.trim()));
  }

  end(): string[] {
    const rest = this.pending + this.decoder.decode();
    this.pending = '';
    return this.tokensOf(rest.trim() ? [rest] : []);
  }
}
