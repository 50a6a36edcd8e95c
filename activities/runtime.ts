// SageMaker Runtime: invoking a TGI endpoint. Used for the deploy's smoke test and by clients.
import { InvokeEndpointCommand, InvokeEndpointWithResponseStreamCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { ApplicationFailure } from '@temporalio/common';
import { callAws } from './aws-errors';
import { ServerSentEventParser, type ServerSentEvent } from './server-sent-events';

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

export interface InvokeInput {
  endpointName: string;
  inputs: string;
  parameters?: GenerationParameters;
  /** The container family's request/response format (default TGI). */
  format?: ContainerFormat;
}

/** Hugging Face TGI, or DJL LMI (the Large Model Inference container). */
export type ContainerFormat = 'tgi' | 'lmi';

/**
 * The request body for a generation. TGI returns only the continuation when asked
 * (return_full_text: false); LMI has no such flag and samples only with do_sample.
 */
export function generationRequestBody(format: ContainerFormat, inputs: string, parameters: GenerationParameters = {}): string {
  if (format === 'lmi') {
    const { return_full_text: _unsupported, ...rest } = parameters;
    return JSON.stringify({ inputs, parameters: { do_sample: rest.temperature !== undefined, ...rest } });
  }
  return JSON.stringify({ inputs, parameters: { return_full_text: false, ...parameters } });
}

export interface InvokeResult {
  generatedText: string;
  latencyMs: number;
  invokedVariant?: string;
}

/** TGI answers `[{"generated_text"}]`; LMI (and some TGI versions) the object alone. */
export function parseGenerationResponse(body: string): string {
  const parsed: unknown = JSON.parse(body);
  const first = Array.isArray(parsed) ? parsed[0] : parsed;
  const text = (first as { generated_text?: unknown } | undefined)?.generated_text;
  if (typeof text !== 'string') throw new Error(`Unexpected TGI/LMI response: ${body.slice(0, 200)}`);
  return text;
}

/** Turns TGI's server-sent events into token texts, and keeps the final generated_text. */
export class TgiEventParser {
  private readonly events = new ServerSentEventParser();
  generatedText: string | undefined;

  push(bytes: Uint8Array): string[] {
    return this.tokensOf(this.events.push(bytes));
  }

  /** Whatever the stream's last part left unterminated. */
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

export interface StreamResult extends InvokeResult {
  timeToFirstTokenMs?: number;
  tokens: number;
}

/** InvokeEndpointWithResponseStream with TGI's `stream: true`; calls onToken as tokens arrive. */
export async function streamGenerate(
  runtime: SageMakerRuntimeClient,
  { endpointName, inputs, parameters }: InvokeInput,
  onToken: (text: string) => void = () => {},
  { abortSignal }: { abortSignal?: AbortSignal } = {},
): Promise<StreamResult> {
  const started = performance.now();
  const out = await runtime.send(
    new InvokeEndpointWithResponseStreamCommand({
      EndpointName: endpointName,
      ContentType: 'application/json',
      Body: JSON.stringify({ inputs, parameters: { return_full_text: false, ...parameters }, stream: true }),
    }),
    // Aborting closes the connection, which stops the endpoint's stream too.
    { abortSignal },
  );
  const parser = new TgiEventParser();
  let text = '';
  let tokens = 0;
  let timeToFirstTokenMs: number | undefined;
  const emit = (token: string) => {
    timeToFirstTokenMs ??= Math.round(performance.now() - started);
    tokens++;
    text += token;
    onToken(token);
  };
  for await (const event of out.Body ?? []) {
    if (event.ModelStreamError) throw new Error(`ModelStreamError: ${event.ModelStreamError.Message}`);
    if (event.InternalStreamFailure) throw new Error(`InternalStreamFailure: ${event.InternalStreamFailure.Message}`);
    if (event.PayloadPart?.Bytes) parser.push(event.PayloadPart.Bytes).forEach(emit);
  }
  parser.end().forEach(emit);
  return {
    generatedText: parser.generatedText ?? text,
    latencyMs: Math.round(performance.now() - started),
    invokedVariant: out.InvokedProductionVariant,
    timeToFirstTokenMs,
    tokens,
  };
}

export function createRuntimeActivities({ runtime }: { runtime: SageMakerRuntimeClient }) {
  return {
    async invokeEndpoint({ endpointName, inputs, parameters, format = 'tgi' }: InvokeInput): Promise<InvokeResult> {
      const started = performance.now();
      const out = await callAws(`InvokeEndpoint ${endpointName}`, () =>
        runtime.send(
          new InvokeEndpointCommand({
            EndpointName: endpointName,
            ContentType: 'application/json',
            Accept: 'application/json',
            Body: generationRequestBody(format, inputs, parameters),
          }),
        ),
      );
      const body = new TextDecoder().decode(out.Body);
      let generatedText: string;
      try {
        generatedText = parseGenerationResponse(body);
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, 'UnexpectedModelResponse');
      }
      return { generatedText, latencyMs: Math.round(performance.now() - started), invokedVariant: out.InvokedProductionVariant };
    },
  };
}
