// A Temporal client for the CLI, demo, services and benches. Where Temporal is comes from
// common/temporal-connection.ts (profile, TEMPORAL_* variables, explicit choices).
import { Client, Connection } from '@temporalio/client';
import { clientDataConverter, connectOptions, temporalConnectionConfig, type TemporalConnectionConfig } from '../common/temporal-connection.js';
import { clientTracingInterceptors, setupTracing } from '../common/tracing.js';

/** Temporal did not answer at the configured address: the caller says so (the CLI exits 3). */
export class TemporalUnreachableError extends Error {
  constructor(
    readonly address: string,
    readonly namespace: string,
    reason: string,
  ) {
    super(
      `Cannot reach Temporal at ${address} (namespace ${namespace}): ${reason}. Is the stack up? Try 'npm run stack:up', or check --address/--profile/TEMPORAL_ADDRESS.`,
    );
    this.name = 'TemporalUnreachableError';
  }
}

/** With OTEL_EXPORTER_OTLP_ENDPOINT set, each workflow start is traced as `serviceName`. */
export async function connectClient(config: TemporalConnectionConfig = temporalConnectionConfig(), serviceName = 'llmops-client'): Promise<Client> {
  setupTracing({ serviceName });
  // connectTimeout bounds the first handshake; without it a wrong address waits on gRPC's backoff.
  const connection = await Connection.connect({ ...connectOptions(config), connectTimeout: '5s' }).catch((err: Error) => {
    throw new TemporalUnreachableError(config.address, config.namespace, err.message);
  });
  return new Client({ connection, namespace: config.namespace, dataConverter: clientDataConverter(), interceptors: clientTracingInterceptors() });
}
