// `tsx clients/rag-service.ts`: runs the RAG HTTP service (clients/rag-service/) until SIGINT or
// SIGTERM. API keys and what each may query come from the environment only (LLMOPS_RAG_KEYS,
// LLMOPS_RAG_KEYS_FILE or LLMOPS_API_KEYS; see api-keys.ts), never the command line (which `ps`
// shows).
//
//   LLMOPS_RAG_KEYS_FILE=keys.json npx tsx clients/rag-service.ts --port 8080
//   LLMOPS_API_KEYS=key1,key2 npx tsx clients/rag-service.ts --port 8080 [--endpoint demo]
//   LLMOPS_API_KEYS=key1 npx tsx clients/rag-service.ts --endpoint demo-ic --component demo-ic-llm
import { Command } from 'commander';
import { createAwsClients } from '../activities/aws-clients.js';
import { activeTracing } from '../common/tracing.js';
import { ADMISSION_DEFAULTS } from './rag-service/admission.js';
import { readApiKeyGrants } from './rag-service/api-keys.js';
import { errorMessage } from './rag-service/http.js';
import { SERVER_DEFAULTS, startRagService } from './rag-service/server.js';
import { connectClient } from './temporal-client.js';
import { ragServiceConfig } from '../common/config.js';
import { integerOption } from './integer-option.js';

// The SDK warns on every run that node 20 support ends in 2027; the README says it once.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const program = new Command('rag-service')
    .description(
      'HTTP service for RAG queries: POST /rag, POST /rag/stream (SSE), the chat page at GET /, GET /healthz, GET /readyz, GET /metrics. API keys come from LLMOPS_RAG_KEYS (JSON: {"<key>": {"endpoints": [...], "collections": [...]}}), LLMOPS_RAG_KEYS_FILE (a file of that JSON) or LLMOPS_API_KEYS (comma-separated keys for --endpoint and --collection only).',
    )
    .option('--port <n>', 'port (0 picks a free one)', integerOption(0), 8080)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--endpoint <name>', 'with LLMOPS_API_KEYS: the one endpoint the keys may query', ragServiceConfig.read().LLMOPS_ENDPOINT)
    .option('--collection <name>', 'with LLMOPS_API_KEYS: the one collection the keys may query', 'documents')
    .option(
      '--component <name>',
      'the inference component that requests to --endpoint invoke when they name none (needed on an inference-component endpoint; default LLMOPS_INFERENCE_COMPONENT)',
      process.env.LLMOPS_INFERENCE_COMPONENT || undefined,
    )
    .option('--rate-limit <n>', 'requests per minute per API key', integerOption(1), ADMISSION_DEFAULTS.rateLimitPerMinute)
    .option('--max-body-bytes <n>', 'largest request body', integerOption(1), ADMISSION_DEFAULTS.maxBodyBytes)
    .option('--max-query-chars <n>', 'longest query', integerOption(1), ADMISSION_DEFAULTS.maxQueryChars)
    .option('--timeout-seconds <n>', 'how long a request waits for the workflow', integerOption(1), SERVER_DEFAULTS.workflowTimeoutMs / 1000)
    .option('--generation-timeout-seconds <n>', 'how long /rag/stream may generate', integerOption(1), SERVER_DEFAULTS.generationTimeoutMs / 1000)
    .option('--headers-timeout-ms <n>', 'a client must send its request headers within this', integerOption(1), SERVER_DEFAULTS.headersTimeoutMs)
    .option('--request-timeout-ms <n>', 'a client must send its whole request within this', integerOption(1), SERVER_DEFAULTS.requestTimeoutMs)
    .option('--keep-alive-timeout-ms <n>', 'an idle keep-alive connection is closed after this', integerOption(1), SERVER_DEFAULTS.keepAliveTimeoutMs)
    .option('--max-connections <n>', 'connections beyond this are closed unanswered', integerOption(1), SERVER_DEFAULTS.maxConnections)
    .parse();
  const o = program.opts<{
    port: number;
    host: string;
    endpoint: string;
    collection: string;
    component?: string;
    rateLimit: number;
    maxBodyBytes: number;
    maxQueryChars: number;
    timeoutSeconds: number;
    generationTimeoutSeconds: number;
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    maxConnections: number;
  }>();
  const apiKeys = readApiKeyGrants(process.env, { endpointName: o.endpoint, collection: o.collection });
  const client = await connectClient(undefined, 'llmops-rag-service');
  const aws = createAwsClients();
  const service = await startRagService({
    port: o.port,
    host: o.host,
    client,
    runtime: aws.runtime,
    sagemaker: aws.sagemaker,
    apiKeys,
    ...(o.component ? { inferenceComponents: { [o.endpoint]: o.component } } : {}),
    rateLimitPerMinute: o.rateLimit,
    maxBodyBytes: o.maxBodyBytes,
    maxQueryChars: o.maxQueryChars,
    workflowTimeoutMs: o.timeoutSeconds * 1000,
    generationTimeoutMs: o.generationTimeoutSeconds * 1000,
    headersTimeoutMs: o.headersTimeoutMs,
    requestTimeoutMs: o.requestTimeoutMs,
    keepAliveTimeoutMs: o.keepAliveTimeoutMs,
    maxConnections: o.maxConnections,
  });
  console.log(service.url);
  const stop = async () => {
    await service.close();
    await client.connection.close();
    await activeTracing()?.shutdown(); // sends the spans still buffered
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`Error: ${errorMessage(err)}\n`);
  process.exit(1);
});
