// `tsx clients/rag-service.ts`: runs the RAG HTTP service (clients/rag-service/) until SIGINT or
// SIGTERM. API keys come from LLMOPS_API_KEYS only, never the command line (which `ps` shows).
//
//   LLMOPS_API_KEYS=key1,key2 npx tsx clients/rag-service.ts --port 8080 [--endpoint demo]
import { Command, InvalidArgumentError } from 'commander';
import { createAwsClients } from '../activities/aws-clients.js';
import { ADMISSION_DEFAULTS } from './rag-service/admission.js';
import { errorMessage } from './rag-service/http.js';
import { startRagService } from './rag-service/server.js';
import { connectClient } from './temporal-client.js';

// The SDK warns on every run that node 20 support ends in 2027; the README says it once.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const int = (min: number) => (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer >= ${min}`);
    return n;
  };
  const program = new Command('rag-service')
    .description('HTTP service for RAG queries: POST /rag, POST /rag/stream (SSE), GET /healthz. API keys come from LLMOPS_API_KEYS (comma-separated).')
    .option('--port <n>', 'port (0 picks a free one)', int(0), 8080)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--endpoint <name>', 'default endpoint when a request names none', process.env.LLMOPS_ENDPOINT ?? 'demo')
    .option('--collection <name>', 'default collection when a request names none', 'documents')
    .option('--rate-limit <n>', 'requests per minute per API key', int(1), ADMISSION_DEFAULTS.rateLimitPerMinute)
    .option('--max-body-bytes <n>', 'largest request body', int(1), ADMISSION_DEFAULTS.maxBodyBytes)
    .option('--max-query-chars <n>', 'longest query', int(1), ADMISSION_DEFAULTS.maxQueryChars)
    .option('--timeout-seconds <n>', 'how long a request waits for the workflow', int(1), 60)
    .parse();
  const o = program.opts<{ port: number; host: string; endpoint: string; collection: string; rateLimit: number; maxBodyBytes: number; maxQueryChars: number; timeoutSeconds: number }>();
  const apiKeys = (process.env.LLMOPS_API_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  if (!apiKeys.length) {
    process.stderr.write('Error: set LLMOPS_API_KEYS to one or more comma-separated API keys (they are never read from the command line)\n');
    process.exit(1);
  }
  const client = await connectClient();
  const aws = createAwsClients();
  const service = await startRagService({
    port: o.port,
    host: o.host,
    client,
    runtime: aws.runtime,
    sagemaker: aws.sagemaker,
    apiKeys,
    rateLimitPerMinute: o.rateLimit,
    maxBodyBytes: o.maxBodyBytes,
    maxQueryChars: o.maxQueryChars,
    workflowTimeoutMs: o.timeoutSeconds * 1000,
    defaults: { endpointName: o.endpoint, collection: o.collection },
  });
  console.log(service.url);
  const stop = async () => {
    await service.close();
    await client.connection.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`Error: ${errorMessage(err)}\n`);
  process.exit(1);
});
