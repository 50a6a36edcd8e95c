// A Temporal client for the CLI, demo and services, from TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE.
import { Client, Connection } from '@temporalio/client';
import { temporalAddress, clientDataConverter, temporalNamespace } from '../common/temporal-connection';

export async function connectClient(address = temporalAddress()): Promise<Client> {
  const connection = await Connection.connect({ address }).catch((err: Error) => {
    throw new Error(`Cannot reach Temporal at ${address} (${err.message}). Is the stack up? Try 'npm run stack:up'.`);
  });
  return new Client({ connection, namespace: temporalNamespace(), dataConverter: clientDataConverter() });
}
