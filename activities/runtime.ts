// SageMaker Runtime: invoking a TGI endpoint. Used for the deploy's smoke test and by clients.
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { ApplicationFailure } from '@temporalio/common';
import { aws } from './aws-errors';

export interface GenerationParameters {
  max_new_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  repetition_penalty?: number;
  return_full_text?: boolean;
  stop?: string[];
  seed?: number;
}

export interface InvokeInput {
  endpointName: string;
  inputs: string;
  parameters?: GenerationParameters;
}

export interface InvokeResult {
  generatedText: string;
  latencyMs: number;
  invokedVariant?: string;
}

/** TGI answers `[{"generated_text"}]`; some versions answer the object alone. */
export function parseTgiResponse(body: string): string {
  const parsed: unknown = JSON.parse(body);
  const first = Array.isArray(parsed) ? parsed[0] : parsed;
  const text = (first as { generated_text?: unknown } | undefined)?.generated_text;
  if (typeof text !== 'string') throw new Error(`Unexpected TGI response: ${body.slice(0, 200)}`);
  return text;
}

export function createRuntimeActivities({ runtime }: { runtime: SageMakerRuntimeClient }) {
  return {
    async invokeEndpoint({ endpointName, inputs, parameters }: InvokeInput): Promise<InvokeResult> {
      const started = performance.now();
      const out = await aws(`InvokeEndpoint ${endpointName}`, () =>
        runtime.send(
          new InvokeEndpointCommand({
            EndpointName: endpointName,
            ContentType: 'application/json',
            Accept: 'application/json',
            Body: JSON.stringify({ inputs, parameters: { return_full_text: false, ...parameters } }),
          }),
        ),
      );
      const body = new TextDecoder().decode(out.Body);
      let generatedText: string;
      try {
        generatedText = parseTgiResponse(body);
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, 'UnexpectedModelResponse');
      }
      return { generatedText, latencyMs: Math.round(performance.now() - started), invokedVariant: out.InvokedProductionVariant };
    },
  };
}
