// Where Temporal is and how payloads are encoded, for workers and clients alike. The connection
// comes from @temporalio/envconfig, so it reads what the `temporal` CLI and every other Temporal
// SDK read: a TOML profile (TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml;
// TEMPORAL_PROFILE, else "default") overlaid by TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_GRPC_META_*, then by explicit choices (CLI flags).
// Read at each call, so a process that sets the variables before connecting wins.
import { defaultPayloadConverter, type DataConverter, type LoadedDataConverter } from '@temporalio/common';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { fileURLToPath } from 'node:url';
import { failureConverter } from './failure-converter.js';
import { encryptionDataConverter } from './payload-codec.js';

const DEFAULT_ADDRESS = '127.0.0.1:7233';
const DEFAULT_NAMESPACE = 'default';

/** What a caller may pick explicitly (the CLI's --profile, --address, --namespace); wins over the environment. */
export interface TemporalSelection {
  profile?: string;
  address?: string;
  namespace?: string;
}

/**
 * Everything needed to connect, in the shape both `Connection.connect` (clients) and
 * `NativeConnection.connect` (workers) take. The API key and TLS keys live only here, in memory:
 * never log this object; log `address` and `namespace`.
 */
export interface TemporalConnectionConfig {
  address: string;
  namespace: string;
  apiKey?: string;
  tls?: TLSConfig | boolean;
  metadata?: Record<string, string | Buffer>;
}

/** The profile file or profile name is unusable: bad input, named so the user can fix it. */
export class TemporalConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalConfigError';
  }
}

/** The one place that decides where Temporal is: profile, then TEMPORAL_* variables, then `selection`. */
export function temporalConnectionConfig(selection: TemporalSelection = {}, env: NodeJS.ProcessEnv = process.env): TemporalConnectionConfig {
  let loaded: ReturnType<typeof loadClientConnectConfig>;
  try {
    loaded = loadClientConnectConfig({ profile: selection.profile, overrideEnvVars: env as Record<string, string> });
  } catch (err) {
    const file = env.TEMPORAL_CONFIG_FILE ?? 'the default temporal.toml';
    throw new TemporalConfigError(`Temporal client config (${file}): ${(err as Error).message}`);
  }
  const { address, apiKey, tls, metadata } = loaded.connectionOptions;
  return {
    address: selection.address ?? address ?? DEFAULT_ADDRESS,
    namespace: selection.namespace ?? loaded.namespace ?? DEFAULT_NAMESPACE,
    ...(apiKey !== undefined && { apiKey: String(apiKey) }),
    ...(tls != null && { tls }),
    ...(metadata && Object.keys(metadata).length > 0 && { metadata }),
  };
}

/**
 * A plain connection to a dev server this process started (the embedded stack, benches): no
 * profile or TEMPORAL_* variable applies, so a shell set up for Temporal Cloud cannot send the
 * local stack's traffic (or its API key) elsewhere.
 */
export const localTemporalConnection = (address: string): TemporalConnectionConfig => ({ address, namespace: DEFAULT_NAMESPACE });

/** The connect options of a config (without the namespace, which the client or worker takes). */
export function connectOptions({ namespace: _namespace, ...options }: TemporalConnectionConfig) {
  return options;
}

export const temporalAddress = () => temporalConnectionConfig().address;
export const temporalNamespace = () => temporalConnectionConfig().namespace;

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
