// Every environment variable this project reads, in one place: one group per concern (AWS,
// workers, logging, RAG service, payload codec, codec server, vector store, local cloud, models,
// telemetry, dev tools), each variable with its rule, its default and a line saying what it is for.
// `.env.example` lists the same variables (test/config/config.test.ts keeps the two in step).
//
// Groups are parsed at each call, from `process.env` unless an environment is passed, so tests
// and entry points that set a variable before using it are obeyed. Empty and blank values read
// as unset. A bad value is an error naming the variable and the rule, with the value quoted
// unless the variable holds a secret. Workflow code must not import this module: workflows are
// deterministic and never read the environment; their inputs carry what they need.
//
// Temporal's connection variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
// TEMPORAL_TLS*, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE) are @temporalio/envconfig's and read
// there (common/temporal-connection.ts); AWS credentials are the SDK's standard chain. Neither is
// repeated here. Domain formats with their own parsers (fault specs, API-key grants, codec
// keyrings) are held here as text and parsed where they are used.
import { z } from 'zod';

/** A configuration variable's value broke its rule. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface Variable<T> {
  /** What the value must be, completing "NAME must be …". */
  rule: string;
  /** Parses the (trimmed, non-empty) text; fails when the rule is broken. */
  schema: z.ZodType<T, string>;
  /** The value used when the variable is unset, as it would be written in `.env`. */
  default?: string;
  /** One line for `.env.example`. */
  doc: string;
  /** Holds a credential: its value never appears in an error. */
  secret?: boolean;
}

type Spec = Record<string, Variable<unknown>>;
type ValueOf<V> = V extends Variable<infer T> ? T : never;
/** A parsed group: a variable with a default always has a value. */
export type Settings<S extends Spec> = {
  readonly [K in keyof S]: S[K] extends { default: string } ? ValueOf<S[K]> : ValueOf<S[K]> | undefined;
};

export interface VariableGroup<S extends Spec> {
  title: string;
  variables: S;
  /** The group's values from `env`; a ConfigError listing every variable that breaks its rule. */
  read(env?: NodeJS.ProcessEnv): Settings<S>;
}

/** A group of variables; benches define theirs (BENCH_*) with the same helper. */
export function variableGroup<S extends Spec>(title: string, variables: S): VariableGroup<S> {
  return {
    title,
    variables,
    read(env = process.env) {
      const values: Record<string, unknown> = {};
      const problems: string[] = [];
      for (const [name, variable] of Object.entries(variables)) {
        const raw = env[name]?.trim() || variable.default;
        if (raw === undefined) continue;
        const parsed = variable.schema.safeParse(raw);
        if (parsed.success) values[name] = parsed.data;
        else
          problems.push(
            `${name} must be ${variable.rule}, ${variable.secret ? 'got a value that does not (not shown: it is a secret)' : `got ${JSON.stringify(raw)}`}`,
          );
      }
      if (problems.length) throw new ConfigError(problems.join('; '));
      return values as Settings<S>;
    },
  };
}

// Variable kinds. Each takes the doc line and options: the default (as text, so `.env.example`
// shows it) and whether the value is a secret.
type Options = { default?: string; secret?: boolean };

function variable<T, O extends Options>(rule: string, schema: z.ZodType<T, string>, doc: string, opts: O): Variable<T> & O {
  return { rule, schema, doc, ...opts };
}

const wholeNumber = (min: number, max: number) => z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max));

export const text = <O extends Options = {}>(doc: string, opts = {} as O) => variable('text', z.string(), doc, opts);

export const integer = <O extends Options & { min?: number; max?: number } = {}>(doc: string, opts = {} as O) => {
  const { min = 0, max } = opts;
  return variable(
    max === undefined ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`,
    wholeNumber(min, max ?? Number.MAX_SAFE_INTEGER),
    doc,
    opts,
  );
};

export const port = <O extends Options = {}>(doc: string, opts = {} as O) => variable('a port number from 1 to 65535', wholeNumber(1, 65535), doc, opts);

export const decimal = <O extends Options & { min: number }>(doc: string, opts: O) =>
  variable(
    `a number ≥ ${opts.min}`,
    z
      .string()
      .regex(/^\d+(\.\d+)?$/)
      .transform(Number)
      .pipe(z.number().min(opts.min)),
    doc,
    opts,
  );

export const oneOf = <const T extends readonly [string, ...string[]], O extends Options = {}>(values: T, doc: string, opts = {} as O) =>
  variable(`one of ${values.join(', ')}`, z.enum(values) as unknown as z.ZodType<T[number], string>, doc, opts);

export const flag = <O extends Options = {}>(doc: string, opts = {} as O) =>
  variable(
    'true or false (or 1 or 0)',
    z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1'),
    doc,
    opts,
  );

export const httpUrl = <O extends Options = {}>(doc: string, opts = {} as O) =>
  variable(
    'an http:// or https:// URL',
    z.string().refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol)),
    doc,
    opts,
  );

/** Comma-separated words, blanks dropped. */
export const list = <O extends Options = {}>(doc: string, opts = {} as O) =>
  variable(
    'a comma-separated list',
    z.string().transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
    doc,
    opts,
  );

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

// ---- the groups -----------------------------------------------------------------------------

/**
 * AWS. Region: AWS_REGION, then AWS_DEFAULT_REGION (the AWS CLI's name, which the JS SDK does not
 * read), then the profile's `region` in ~/.aws/config (AWS_PROFILE, else "default"), else an
 * error (activities/aws-clients.ts). Endpoints: AWS_ENDPOINT_URL for every service,
 * AWS_ENDPOINT_URL_<SERVICE> for one (the SDK reads both itself; they are validated here).
 */
export const awsConfig = variableGroup('AWS', {
  AWS_PROFILE: text('Profile of ~/.aws/config and ~/.aws/credentials to use (region, credentials)', { default: 'default' }),
  AWS_REGION: text('Region; wins over AWS_DEFAULT_REGION and the profile'),
  AWS_DEFAULT_REGION: text("Region when AWS_REGION is unset (the AWS CLI's variable; the JS SDK alone ignores it)"),
  AWS_ENDPOINT_URL: httpUrl('One endpoint for every AWS service (the local cloud, e.g. http://127.0.0.1:4566)'),
  AWS_ENDPOINT_URL_SAGEMAKER: httpUrl('Endpoint of SageMaker only'),
  AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: httpUrl('Endpoint of SageMaker Runtime only'),
  AWS_ENDPOINT_URL_IAM: httpUrl('Endpoint of IAM only'),
  AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING: httpUrl('Endpoint of Application Auto Scaling only'),
  AWS_ENDPOINT_URL_CLOUDWATCH: httpUrl('Endpoint of CloudWatch only'),
  AWS_ENDPOINT_URL_SECRETS_MANAGER: httpUrl('Endpoint of Secrets Manager only'),
  AWS_ENDPOINT_URL_S3: httpUrl('Endpoint of S3 only; set (or AWS_ENDPOINT_URL set), S3 is addressed path-style'),
});

/** What a Temporal worker reads beyond @temporalio/envconfig's TEMPORAL_* variables. */
export const workerConfig = variableGroup('Workers', {
  LLMOPS_WORKFLOW_BUNDLE: text('A workflow bundle built ahead of time, so a restarted control worker polls within seconds'),
  LLMOPS_SECRET_ENV_ALLOWLIST: list('Worker variables a deploy may name as its Hugging Face token besides HF_TOKEN, HUGGING_FACE_HUB_TOKEN'),
});

/**
 * One log level for every process. LLMOPS_LOG_LEVEL is this project's own name; LOG_LEVEL, the
 * common convention (and what container images often set), is honoured when it is unset.
 */
export const loggingConfig = variableGroup('Logging', {
  LLMOPS_LOG_LEVEL: oneOf(LOG_LEVELS, 'Log level of workers, clients, the RAG service and the local cloud (logs go to stderr)'),
  LOG_LEVEL: oneOf(LOG_LEVELS, 'Fallback log level, used when LLMOPS_LOG_LEVEL is unset'),
});

/** The pino level of this process: LLMOPS_LOG_LEVEL, else LOG_LEVEL, else info. */
export function logLevel(env: NodeJS.ProcessEnv = process.env): (typeof LOG_LEVELS)[number] {
  const { LLMOPS_LOG_LEVEL, LOG_LEVEL } = loggingConfig.read(env);
  return LLMOPS_LOG_LEVEL ?? LOG_LEVEL ?? 'info';
}

export const ragServiceConfig = variableGroup('RAG service', {
  LLMOPS_ENDPOINT: text('SageMaker endpoint the RAG service answers with (the one LLMOPS_API_KEYS may query)', { default: 'demo' }),
  LLMOPS_RAG_KEYS: text('API keys with their grants, as JSON {"<key>": {"endpoints": [...], "collections": [...]}}', { secret: true }),
  LLMOPS_RAG_KEYS_FILE: text('A file holding the LLMOPS_RAG_KEYS JSON (keeps the keys out of the environment)'),
  LLMOPS_API_KEYS: text('Comma-separated API keys, each granted LLMOPS_ENDPOINT and the default collection', { secret: true }),
  LLMOPS_MONITORING_FILE: text('Where prompts and answers are recorded, one JSON line each (default .monitoring/prompts.jsonl)'),
});

export const codecConfig = variableGroup('Payload codec', {
  LLMOPS_CODEC_KEYS: text('Payload encryption keys "<id>:<base64 32 bytes>,..."; the first (or LLMOPS_CODEC_KEY_ID) encrypts', { secret: true }),
  LLMOPS_CODEC_KEYS_FILE: text('A file holding LLMOPS_CODEC_KEYS (keeps the keys out of the environment)'),
  LLMOPS_CODEC_KEY_ID: text('Which key id encrypts new payloads (default: the first key)'),
});

export const codecServerConfig = variableGroup('Codec server', {
  LLMOPS_CODEC_SERVER_TOKEN: text('Bearer token the codec server requires (at least 16 characters)', { secret: true }),
  LLMOPS_CODEC_SERVER_AUTH: oneOf(['bearer', 'none'], 'bearer (needs LLMOPS_CODEC_SERVER_TOKEN) or none (a local Web UI with no login)', {
    default: 'bearer',
  }),
  LLMOPS_CODEC_SERVER_ORIGINS: list('Origins allowed to call the codec server from a browser, e.g. http://localhost:8233'),
  LLMOPS_CODEC_SERVER_PORT: integer('Port of `npm run codec-server` (0 picks a free one)', { max: 65535, default: '8888' }),
});

export const vectorStoreConfig = variableGroup('Vector store', {
  VECTOR_STORE: oneOf(['auto', 'qdrant', 'lancedb'], 'auto: Qdrant at QDRANT_URL or localhost:6333 if found, else the embedded LanceDB', {
    default: 'auto',
  }),
  QDRANT_URL: httpUrl('Qdrant server to use'),
  QDRANT_API_KEY: text("Qdrant's API key", { secret: true }),
  VECTOR_STORE_DIR: text('Directory of the embedded LanceDB store (default .vector-store)'),
});

export const localCloudConfig = variableGroup('Local cloud', {
  LOCAL_CLOUD_TIME_SCALE: decimal('How much faster than AWS metric periods, alarms and cooldowns run (1 = AWS timing)', { min: 1, default: '1' }),
  LOCAL_CLOUD_FAULTS: text('Injected request faults, e.g. "throttle=0.2,5xx=0.05,latencyMs=50,drop=0.01;services=sagemaker,s3"'),
  LOCAL_CLOUD_RATE_LIMIT: text('Throttle each account and operation above this many requests per second (default unlimited)'),
  LOCAL_CLOUD_ENDPOINT_FAULTS: text('Per-endpoint faults, e.g. "my-ep=fail-health-check,other=crash-after-start"'),
  LOCAL_CLOUD_FLEET_FAULTS: text(
    'Faults of the fleet serving one endpoint config, JSON keyed by config name, e.g. {"my-ep-v2":{"5xx":1,"latencyMs":200}} (forces a rollout back)',
  ),
  LOCAL_CLOUD_ALLOWED_ORIGINS: text('Comma-separated browser origins allowed to call the local cloud (none by default)'),
  LOCAL_CLOUD_ALLOWED_HOSTS: text('Comma-separated Host names accepted besides loopback ones'),
  LOCAL_CLOUD_INSTANCE_QUOTA: integer('Instances per instance type and usage (endpoint, transform job)', { default: '4' }),
  LOCAL_CLOUD_INSTANCE_QUOTAS: text('Per-type quotas overriding LOCAL_CLOUD_INSTANCE_QUOTA, e.g. "ml.g5.xlarge=8,ml.m5.large=2"'),
  LOCAL_CLOUD_MAX_INSTANCES: integer('Model processes of every type and usage together', { default: '8' }),
  LLMOPS_STACK_DIR: text('State directory of `npm run stack:up` (default .stack)'),
  LLMOPS_QDRANT: flag('The demo uses a Qdrant server (as with --qdrant)', { default: 'false' }),
});

export const modelsConfig = variableGroup('Models', {
  LLMOPS_MODELS_DIR: text('Extra directories (path list) searched for GGUF files before ./models and ./assets/models'),
  LLMOPS_EMBED_THREADS: integer('Threads of the embedding model (keep 1 or 2 on a small machine)', { min: 1, default: '1' }),
  LLMOPS_EMBED_CONTEXTS: integer('Embedding contexts evaluating at once', { min: 1, default: '2' }),
});

export const telemetryConfig = variableGroup('Telemetry', {
  LLMOPS_WORKER_METRICS_PORT: port("Serve the Temporal worker's Prometheus metrics on this port (off when unset)"),
  LLMOPS_WORKER_METRICS_HOST: text('Address the worker metrics bind to (0.0.0.0 inside a container)', { default: '127.0.0.1' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl('OTLP/HTTP collector for traces (tracing is off when neither OTLP endpoint is set)'),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl('OTLP/HTTP endpoint for traces only'),
  OTEL_SERVICE_NAME: text("Service name on this process's spans (default: the process's own, e.g. llmops-control-worker)"),
  OTEL_SDK_DISABLED: flag('Turns tracing off even when an OTLP endpoint is set', { default: 'false' }),
});

/** Development tooling (dev/): where the external binaries are when not in .venv or on PATH. */
export const devToolsConfig = variableGroup('Development tools', {
  TEMPORAL_CLI_PATH: text('The `temporal` CLI (dev server with the Web UI)'),
  TEMPORAL_TEST_SERVER_PATH: text("Temporal's time-skipping test server"),
  MOTO_SERVER_PATH: text("moto's `moto_server`"),
  LLMOPS_PYTHON: text("Python with boto3, for the cross-SDK tests (default .venv's)"),
  AWS_CLI_PATH: text('The AWS CLI'),
  QDRANT_BIN: text('A Qdrant server binary the tests and benches start'),
});

/** Every group, in the order `.env.example` lists them. */
export const configGroups = [
  awsConfig,
  workerConfig,
  loggingConfig,
  ragServiceConfig,
  codecConfig,
  codecServerConfig,
  vectorStoreConfig,
  localCloudConfig,
  modelsConfig,
  telemetryConfig,
  devToolsConfig,
] as const;
