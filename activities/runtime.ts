// SageMaker Runtime: generating text with an endpoint, whole (InvokeEndpoint, the activity the
// deploy's smoke test and ragQuery's generate use) or token by token
// (InvokeEndpointWithResponseStream, for the RAG service's /rag/stream and `llmops invoke
// --stream`). The request and response formats are activities/generation.ts's business.
import { InvokeEndpointCommand, InvokeEndpointWithResponseStreamCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { ApplicationFailure } from '@temporalio/common';
import { callAws } from './aws-errors.js';
import { heartbeatWhile } from './heartbeat.js';
import {
  generationRequestBody,
  generationStreamParser,
  parseGenerationResponse,
  type ContainerFormat,
  type GenerationParameters,
  type GenerationPrompt,
} from './generation.js';

export interface InvokeInput {
  endpointName: string;
  /** A prompt string, or messages for a chat format. */
  inputs: GenerationPrompt;
  parameters?: GenerationParameters;
  /** The container family's request/response format (default TGI). */
  format?: ContainerFormat;
  /** On an inference-component endpoint: the component to route to (AWS requires one). */
  inferenceComponentName?: string;
}

export interface InvokeResult {
  generatedText: string;
  latencyMs: number;
  invokedVariant?: string;
}

export interface StreamResult extends InvokeResult {
  timeToFirstTokenMs?: number;
  tokens: number;
}

/** InvokeEndpointWithResponseStream; calls onToken as tokens arrive. */
export async function streamGenerate(
  runtime: SageMakerRuntimeClient,
  { endpointName, inputs, parameters, format = 'tgi', inferenceComponentName }: InvokeInput,
  onToken: (text: string) => void = () => {},
  { abortSignal }: { abortSignal?: AbortSignal } = {},
): Promise<StreamResult> {
  const parser = generationStreamParser(format);
  const started = performance.now();
  const out = await runtime.send(
    new InvokeEndpointWithResponseStreamCommand({
      EndpointName: endpointName,
      InferenceComponentName: inferenceComponentName,
      ContentType: 'application/json',
      Body: generationRequestBody(format, inputs, parameters, { stream: true }),
    }),
    // Aborting closes the connection, which stops the endpoint's stream too.
    { abortSignal },
  );
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
    async invokeEndpoint({ endpointName, inputs, parameters, format = 'tgi', inferenceComponentName }: InvokeInput): Promise<InvokeResult> {
      const started = performance.now();
      // An invocation may take up to AWS's 60 s; heartbeats let a lost worker show sooner.
      const out = await heartbeatWhile(
        callAws(`InvokeEndpoint ${endpointName}`, () =>
          runtime.send(
            new InvokeEndpointCommand({
              EndpointName: endpointName,
              InferenceComponentName: inferenceComponentName,
              ContentType: 'application/json',
              Accept: 'application/json',
              Body: generationRequestBody(format, inputs, parameters),
            }),
          ),
        ),
        { endpointName },
      );
      const body = new TextDecoder().decode(out.Body);
      let generatedText: string;
      try {
        generatedText = parseGenerationResponse(format, body);
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, 'UnexpectedModelResponse');
      }
      return { generatedText, latencyMs: Math.round(performance.now() - started), invokedVariant: out.InvokedProductionVariant };
    },
  };
}
