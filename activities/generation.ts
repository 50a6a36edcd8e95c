// What the two container families ragQuery can talk to (Hugging Face TGI, DJL LMI) expect and
// answer: the one builder of generation request bodies, plain and streamed, and the parsers of
// their responses. No I/O here: activities/runtime.ts sends what this builds, and the generate
// activity, the RAG service's /rag/stream and `llmops invoke [--stream]` all go through it.
import type { Generation } from '../common/rag-input.js';
import { ServerSentEventParser, type ServerSentEvent } from './server-sent-events.js';

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

/** Hugging Face TGI, or DJL LMI (the Large Model Inference container). */
export type ContainerFormat = 'tgi' | 'lmi';

/**
 * Why `format` cannot stream here, or undefined when it can. LMI streams JSON lines rather than
 * TGI's server-sent events; the local cloud serves no LMI container (docs/local-cloud.md) to
 * check a parser against, so none is written and a stream request is refused up front.
 */
export function streamingRefusal(format: ContainerFormat): string | undefined {
  return format === 'tgi' ? undefined : 'streaming is supported for TGI endpoints only (no LMI stream format is implemented)';
}

/**
 * The request body for a generation. TGI returns only the continuation when asked
 * (return_full_text: false); LMI has no such flag and samples only with do_sample.
 * `stream` asks for the tokens as they are sampled (InvokeEndpointWithResponseStream).
 */
export function generationRequestBody(format: ContainerFormat, inputs: string, parameters: GenerationParameters = {}, { stream = false } = {}): string {
  const streamField = stream ? { stream: true } : {};
  if (format === 'lmi') {
    const { return_full_text: _unsupported, ...rest } = parameters;
    return JSON.stringify({ inputs, parameters: { do_sample: rest.temperature !== undefined, ...rest }, ...streamField });
  }
  return JSON.stringify({ inputs, parameters: { return_full_text: false, ...parameters }, ...streamField });
}

/** TGI answers `[{"generated_text"}]`; LMI (and some TGI versions) the object alone. */
export function parseGenerationResponse(body: string): string {
  const parsed: unknown = JSON.parse(body);
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

/** The parser for `format`'s streamed responses (see streamingRefusal for the formats without one). */
export function generationStreamParser(format: ContainerFormat): GenerationStreamParser {
  const refusal = streamingRefusal(format);
  if (refusal) throw new Error(`format: ${refusal}`);
  return new TgiEventParser();
}

/** TGI's server-sent events: `{"token": {"text", "special"}, "generated_text"}` or `{"error"}`. */
class TgiEventParser implements GenerationStreamParser {
  private readonly events = new ServerSentEventParser();
  generatedText: string | undefined;

  push(bytes: Uint8Array): string[] {
    return this.tokensOf(this.events.push(bytes));
  }

  end(): string[] {
    return this.tokensOf(this.events.end());
  }

  private tokensOf(events: ServerSentEvent[]): string[] {
    const tokens: string[] = [];
    for (const { data } of events) {
      const event = JSON.parse(data) as { token?: { text?: string; special?: boolean }; generated_text?: string | null; error?: string };
      if (event.error) throw new Error(`Model stream error: ${event.error}`);
      if (event.token?.text !== undefined && !event.token.special) tokens.push(event.token.text);
      if (typeof event.generated_text === 'string') this.generatedText = event.generated_text;
    }
    return tokens;
  }
}
