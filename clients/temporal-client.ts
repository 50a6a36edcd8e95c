// A Temporal client for the CLI, demo and services, from TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE.
import { Client, Connection } from '@temporalio/client';
import { temporalAddress, clientDataConverter, temporalNamespace } from '../common/temporal-connection';
import { clientTracingInterceptors, setupTracing } from '../common/tracing.js';

/** With OTEL_EXPORTER_OTLP_ENDPOINT set, each workflow start is traced as `serviceName`. */
export async function connectClient(address = temporalAddress(), serviceName = 'llmops-client'): Promise<Client> {
  setupTracing({ serviceName });
  const connection = await Connection.connect({ address }).catch((err: Error) => {
    throw new Error(`Cannot reach Temporal at ${address} (${err.message}). Is the stack up? Try 'npm run stack:up'.`);
  });
  return new Client({ connection, namespace: temporalNamespace(), dataConverter: clientDataConverter(), interceptors: clientTracingInterceptors() });
}
