// Where Temporal is and how payloads are encoded, for workers and clients alike: the same
// environment variables the `temporal` CLI reads. Read at each call, so a process that sets them
// before connecting wins.
import { defaultPayloadConverter, type DataConverter, type LoadedDataConverter } from '@temporalio/common';
import { fileURLToPath } from 'node:url';
import { failureConverter } from './failure-converter.js';
import { encryptionDataConverter } from './payload-codec.js';

export const temporalAddress = () => process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
export const temporalNamespace = () => process.env.TEMPORAL_NAMESPACE ?? 'default';

/**
 * The data converters of this project's workers and clients: AES-GCM payload encryption, with
 * failure messages encrypted too, when codec keys are configured (LLMOPS_CODEC_KEYS or
 * LLMOPS_CODEC_KEYS_FILE); Temporal's default otherwise. Workers and clients must agree, so both
 * take theirs from here. A worker takes the failure converter by module path (workflow code runs
 * in a sandbox), a client as an object.
 */
export function workerDataConverter(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  const encryption = encryptionDataConverter(env);
  return encryption && { ...encryption, failureConverterPath: fileURLToPath(new URL('./failure-converter.ts', import.meta.url)) };
}

export function clientDataConverter(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  const encryption = encryptionDataConverter(env);
  if (!encryption) return undefined;
  // The client takes an already-loaded converter as is (it checks with isLoadedDataConverter);
  // its type only names the path form, which would need require() of a .ts file.
  const loaded: LoadedDataConverter = { payloadConverter: defaultPayloadConverter, failureConverter, payloadCodecs: encryption.payloadCodecs ?? [] };
  return loaded as unknown as DataConverter;
}
