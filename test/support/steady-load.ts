// Steady load on an endpoint while something changes under it (a rollout): N clients each send
// one InvokeEndpoint after another, and every answer (latency, ok or the error, the variant that
// served it) is recorded with its time, so a test can count failures and a bench can chart QPS,
// latency and errors per second. Used by test/e2e/rollout.test.ts and bench/rollout.ts.
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';

export interface LoadSample {
  /** Milliseconds since the load started, at the answer. */
  atMs: number;
  latencyMs: number;
  ok: boolean;
  error?: string;
}

export interface SteadyLoad {
  samples: LoadSample[];
  /** Stops the clients after their current request; resolves when they are done. */
  stop(): Promise<LoadSample[]>;
}

export function startSteadyLoad(runtime: SageMakerRuntimeClient, endpointName: string, { clients = 2, maxNewTokens = 4 } = {}): SteadyLoad {
  const samples: LoadSample[] = [];
  const started = Date.now();
  let running = true;
  const body = JSON.stringify({ inputs: 'Once upon a time', parameters: { max_new_tokens: maxNewTokens } });
  const client = async () => {
    while (running) {
      const t0 = Date.now();
      try {
        await runtime.send(new InvokeEndpointCommand({ EndpointName: endpointName, ContentType: 'application/json', Body: body }));
        samples.push({ atMs: Date.now() - started, latencyMs: Date.now() - t0, ok: true });
      } catch (err) {
        samples.push({ atMs: Date.now() - started, latencyMs: Date.now() - t0, ok: false, error: (err as Error).name || String(err) });
      }
    }
  };
  const all = Promise.all(Array.from({ length: clients }, client));
  return {
    samples,
    async stop() {
      running = false;
      await all;
      return samples;
    },
  };
}
