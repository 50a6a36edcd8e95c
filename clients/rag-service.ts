// The RAG business service (the reference design's `POST /rag`), on node:http:
//   POST /rag         → runs the ragQuery workflow, answers its RagQueryResult as JSON
//   POST /rag/stream  → Server-Sent Events: ragQuery with prepareOnly (embed, retrieve, rerank,
//                       build the prompt), then the tokens as the endpoint produces them
//                       (InvokeEndpointWithResponseStream), then `done` with sources and timings
//   GET  /healthz
// In front of both POSTs, in this order: API key (x-api-key), per-key rate limit (token bucket),
// body size, JSON, query length, the ragQuery input schema, endpoint InService (DescribeEndpoint,
// cached for a few seconds). Every error body is {"error": {"code", "message"}}.
//
// No web framework: four routes, and each concern above is a few lines over node:http; a
// framework would add a dependency tree without removing any of the code that matters here.
//
//   LLMOPS_API_KEYS=key1,key2 npx tsx clients/rag-service.ts --port 8080 [--endpoint demo]
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { ApplicationFailure, ServiceError, TimeoutFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { appendMonitoringRecord, defaultMonitoringFile } from '../activities/monitoring';
import { streamGenerate } from '../activities/runtime';
import { InvalidInputError, parseInput } from '../common/input-parsing';
import { ragQueryInputSchema, type RagQueryResult, type RagQuerySpec } from '../common/rag-input';
import { RAG_TASK_QUEUE } from '../common/task-queues';

export interface RagServiceOptions {
  /** 0 (or omitted) picks a free port. */
  port?: number;
  host?: string;
  client: Client;
  runtime: SageMakerRuntimeClient;
  sagemaker: SageMakerClient;
  /** Accepted values of the x-api-key header. At least one; never logged. */
  apiKeys: string[];
  /** Sustained requests per minute per API key (default 60). */
  rateLimitPerMinute?: number;
  /** Requests a key may make at once before the rate applies (default: rateLimitPerMinute). */
  rateLimitBurst?: number;
  /** Default 16 KiB. */
  maxBodyBytes?: number;
  /** Default 2000, the ragQuery contract's own maximum. */
  maxQueryChars?: number;
  /** How long a request waits for the ragQuery workflow before answering 504 (default 60 s). */
  workflowTimeoutMs?: number;
  /** How long a DescribeEndpoint answer is reused (default 5 s). */
  endpointStatusTtlMs?: number;
  defaults: { endpointName: string; collection?: string };
  taskQueue?: string;
  /** Where /rag/stream appends its prompt-monitoring records (default: LLMOPS_MONITORING_FILE or .monitoring/prompts.jsonl). */
  monitoringFile?: string;
  logger?: Logger;
}

export interface RagService {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The HTTP body: the ragQuery input minus what only the service decides (prepareOnly). */
const ragRequestSchema = ragQueryInputSchema.omit({ prepareOnly: true });

/** Per-request facts, for the handlers and the access log. */
interface RequestContext {
  received: number;
  debug: boolean;
  /** Index of the caller's API key in the configured list (never the key itself). */
  key?: number;
  workflowId?: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Running ragQuery (shared with `llmops ask`)

export interface RagQueryRun {
  result: RagQueryResult;
  workflowId: string;
  /** Wall-clock milliseconds from start request to result, as the caller saw them. */
  elapsedMs: number;
}

export class RagQueryTimeoutError extends Error {
  constructor(readonly workflowId: string, readonly timeoutMs: number) {
    super(`ragQuery ${workflowId} did not finish within ${timeoutMs} ms`);
    this.name = 'RagQueryTimeoutError';
  }
}

/**
 * Starts ragQuery (workflow id rag-<uuid>) and waits for its result, at most `timeoutMs`; past
 * that the run is cancelled (nobody is waiting for it any more) and RagQueryTimeoutError thrown.
 * The server also ends the run at twice the timeout, in case the caller dies before cancelling.
 */
export async function executeRagQuery(
  client: Client,
  spec: RagQuerySpec,
  { taskQueue = RAG_TASK_QUEUE, timeoutMs = 60_000, workflowId = `rag-${randomUUID()}` }: { taskQueue?: string; timeoutMs?: number; workflowId?: string } = {},
): Promise<RagQueryRun> {
  const started = performance.now();
  const handle = await client.workflow.start('ragQuery', { taskQueue, workflowId, args: [spec], workflowExecutionTimeout: timeoutMs * 2 });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RagQueryTimeoutError(workflowId, timeoutMs)), timeoutMs);
  });
  try {
    const result = (await Promise.race([handle.result(), deadline])) as RagQueryResult;
    return { result, workflowId, elapsedMs: Math.round(performance.now() - started) };
  } catch (err) {
    if (err instanceof RagQueryTimeoutError) void handle.cancel().catch(() => {});
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** What a failed ragQuery means for an HTTP caller. */
function workflowHttpError(err: unknown): HttpError {
  if (err instanceof RagQueryTimeoutError) return new HttpError(504, 'workflow_timeout', `The query did not finish within ${err.timeoutMs} ms (workflow ${err.workflowId}); try again later`);
  if (err instanceof WorkflowFailedError) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure && cause.type === 'InvalidInput') return new HttpError(400, 'invalid_input', cause.message);
    if (cause instanceof TimeoutFailure) return new HttpError(504, 'workflow_timeout', `The query workflow timed out (${cause.timeoutType})`);
    return new HttpError(502, 'rag_query_failed', cause?.message ?? err.message);
  }
  if (err instanceof ServiceError) return new HttpError(503, 'temporal_unavailable', 'The workflow service is unavailable; try again later', { 'retry-after': '5' });
  return new HttpError(500, 'internal', 'Internal error');
}

// ---------------------------------------------------------------------------------------------
// Auth, rate limit, endpoint status

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Index of the matching key, or -1. Compares digests in constant time against every key. */
function keyMatcher(apiKeys: string[]): (presented: string) => number {
  const digests = apiKeys.map(digest);
  return (presented) => {
    const d = digest(presented);
    let found = -1;
    digests.forEach((k, i) => {
      if (timingSafeEqual(k, d) && found < 0) found = i;
    });
    return found;
  };
}

/** One bucket per API key: `burst` tokens, refilled at `perMinute` per minute. */
export class TokenBuckets {
  private readonly buckets = new Map<number, { tokens: number; at: number }>();
  constructor(
    private readonly perMinute: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes a token; when there is none, how many seconds until there is. */
  take(key: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const now = this.now();
    const perMs = this.perMinute / 60_000;
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * perMs);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000)) };
  }
}

type EndpointState = { status: string } | { missing: true };

/** DescribeEndpoint answers, shared by concurrent requests and reused for `ttlMs`. */
class EndpointStatusCache {
  private readonly entries = new Map<string, { at: number; state: Promise<EndpointState> }>();
  constructor(
    private readonly sagemaker: SageMakerClient,
    private readonly ttlMs: number,
  ) {}

  get(endpointName: string): Promise<EndpointState> {
    const now = performance.now();
    const hit = this.entries.get(endpointName);
    if (hit && now - hit.at < this.ttlMs) return hit.state;
    if (this.entries.size > 1000) for (const [k, v] of this.entries) if (now - v.at >= this.ttlMs) this.entries.delete(k);
    const state = this.sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName })).then(
      (out): EndpointState => ({ status: out.EndpointStatus ?? 'Unknown' }),
      (err: Error): EndpointState => {
        if (err.name === 'ValidationException' && /could not find/i.test(err.message)) return { missing: true };
        // Not an answer about the endpoint: do not cache it.
        this.entries.delete(endpointName);
        throw err;
      },
    );
    this.entries.set(endpointName, { at: now, state });
    return state;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { error: { code: err.code, message: err.message } }, err.headers);
}

/** The body as a string, or 413 as soon as it is known to be larger than `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<string> {
  const tooLarge = () => new HttpError(413, 'body_too_large', `The request body exceeds ${max} bytes`, { connection: 'close' });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    req.resume(); // discard; the connection closes after the answer
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > max) {
        failed = true;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => failed || resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', (err) => failed || reject(err));
    // A client gone mid-body: nobody is left to answer, but the handler must not wait forever.
    req.on('close', () => req.complete || reject(new HttpError(400, 'incomplete_body', 'The request body ended early')));
  });
}

function writeEvent(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

// ---------------------------------------------------------------------------------------------
// The service

export async function startRagService(opts: RagServiceOptions): Promise<RagService> {
  if (!opts.apiKeys.length || opts.apiKeys.some((k) => !k)) throw new Error('startRagService needs at least one non-empty API key');
  const log = opts.logger ?? pino({ level: process.env.LLMOPS_LOG_LEVEL ?? 'info', base: { service: 'rag' } }, pino.destination(2));
  const maxBodyBytes = opts.maxBodyBytes ?? 16 * 1024;
  const maxQueryChars = opts.maxQueryChars ?? 2000;
  const workflowTimeoutMs = opts.workflowTimeoutMs ?? 60_000;
  const taskQueue = opts.taskQueue ?? RAG_TASK_QUEUE;
  const monitoringFile = opts.monitoringFile ?? defaultMonitoringFile();
  const perMinute = opts.rateLimitPerMinute ?? 60;
  const matchKey = keyMatcher(opts.apiKeys);
  const buckets = new TokenBuckets(perMinute, opts.rateLimitBurst ?? perMinute);
  const endpoints = new EndpointStatusCache(opts.sagemaker, opts.endpointStatusTtlMs ?? 5000);
  /** Aborts the endpoint streams in flight; close() uses it. */
  const streams = new Set<AbortController>();

  /** Everything before the workflow, in order: key, rate, body, JSON, query length, schema, endpoint. */
  async function admit(req: IncomingMessage, ctx: RequestContext, stream: boolean): Promise<RagQuerySpec> {
    const presented = req.headers['x-api-key'];
    const key = typeof presented === 'string' && presented ? matchKey(presented) : -1;
    if (key < 0) {
      req.resume();
      throw new HttpError(401, 'unauthorized', 'A valid API key is required in the x-api-key header', { 'www-authenticate': 'ApiKey header="x-api-key"' });
    }
    ctx.key = key;
    const taken = buckets.take(key);
    if (!taken.ok) {
      req.resume();
      throw new HttpError(429, 'rate_limited', `Rate limit of ${perMinute} requests per minute exceeded for this API key; retry after ${taken.retryAfterSeconds} s`, {
        'retry-after': String(taken.retryAfterSeconds),
      });
    }
    const text = await readBody(req, maxBodyBytes);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new HttpError(400, 'invalid_json', `The request body is not valid JSON: ${errorMessage(err)}`);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'invalid_json', 'The request body must be a JSON object such as {"query": "..."}');
    const query = (body as { query?: unknown }).query;
    if (typeof query === 'string' && query.length > maxQueryChars) {
      throw new HttpError(400, 'query_too_long', `query: must be at most ${maxQueryChars} characters (got ${query.length})`);
    }
    let spec: RagQuerySpec;
    try {
      const parsed = parseInput(ragRequestSchema, 'ragQuery', { endpointName: opts.defaults.endpointName, ...(opts.defaults.collection ? { collection: opts.defaults.collection } : {}), ...body });
      spec = { ...parsed, prepareOnly: stream };
    } catch (err) {
      if (err instanceof InvalidInputError) throw new HttpError(400, 'invalid_input', err.problems.join('; '));
      throw err;
    }
    if (stream && spec.format !== 'tgi') throw new HttpError(400, 'invalid_input', 'format: streaming is supported for TGI endpoints only; use POST /rag');

    let state: EndpointState;
    try {
      state = await endpoints.get(spec.endpointName);
    } catch (err) {
      log.warn({ endpointName: spec.endpointName, err: errorMessage(err) }, 'DescribeEndpoint failed');
      throw new HttpError(503, 'endpoint_status_unavailable', `Cannot check the status of endpoint ${spec.endpointName}; try again later`, { 'retry-after': '5' });
    }
    if ('missing' in state) throw new HttpError(503, 'endpoint_unavailable', `Endpoint ${spec.endpointName} does not exist`);
    if (state.status !== 'InService') {
      throw new HttpError(503, 'endpoint_unavailable', `Endpoint ${spec.endpointName} is ${state.status}, not InService; try again later`, { 'retry-after': '10' });
    }
    return spec;
  }

  async function answer(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    const spec = await admit(req, ctx, false);
    let run: RagQueryRun;
    try {
      run = await executeRagQuery(opts.client, spec, { taskQueue, timeoutMs: workflowTimeoutMs });
    } catch (err) {
      throw logged(workflowHttpError(err), err);
    }
    ctx.workflowId = run.workflowId;
    const { prompt: _prompt, ...withoutPrompt } = run.result;
    sendJson(res, 200, ctx.debug ? run.result : withoutPrompt, { 'x-workflow-id': run.workflowId });
  }

  async function stream(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    const spec = await admit(req, ctx, true);
    let run: RagQueryRun;
    try {
      run = await executeRagQuery(opts.client, spec, { taskQueue, timeoutMs: workflowTimeoutMs });
    } catch (err) {
      throw logged(workflowHttpError(err), err);
    }
    const prepared = run.result;
    ctx.workflowId = run.workflowId;
    if (res.destroyed) {
      log.info({ workflowId: run.workflowId }, 'client disconnected before generation; nothing streamed');
      return;
    }

    // From here the status is 200: failures become `error` events.
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-workflow-id': run.workflowId,
    });
    res.flushHeaders();
    const controller = new AbortController();
    streams.add(controller);
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const tokens: string[] = [];
    try {
      const out = await streamGenerate(
        opts.runtime,
        { endpointName: spec.endpointName, inputs: prepared.prompt, parameters: { ...spec.generation, return_full_text: false } },
        (text) => {
          if (controller.signal.aborted) throw new Error('client disconnected');
          tokens.push(text);
          writeEvent(res, 'token', { text });
        },
        { abortSignal: controller.signal },
      );
      // What the client saw is the answer (TGI's final generated_text is the same text).
      const answerText = tokens.join('');
      const timings = {
        ...prepared.timings,
        workflow: run.elapsedMs,
        generate: out.latencyMs,
        ttft: out.timeToFirstTokenMs ?? out.latencyMs,
        total: Math.round(performance.now() - ctx.received),
      };
      const usage = { ...prepared.usage, completionTokens: out.tokens };
      writeEvent(res, 'done', {
        answer: answerText,
        sources: prepared.sources,
        timings,
        usage,
        model: prepared.model,
        reranker: prepared.reranker,
        workflowId: run.workflowId,
        ...(ctx.debug ? { prompt: prepared.prompt } : {}),
      });
      try {
        await appendMonitoringRecord({ ...prepared, answer: answerText, timings, usage, at: new Date().toISOString(), via: 'stream', workflowId: run.workflowId }, monitoringFile);
      } catch (err) {
        log.error({ workflowId: run.workflowId, err: errorMessage(err) }, 'could not append the prompt-monitoring record');
      }
      res.end();
    } catch (err) {
      if (controller.signal.aborted) {
        log.info({ workflowId: run.workflowId, tokens: tokens.length }, 'client disconnected; endpoint stream aborted');
        res.destroy();
        return;
      }
      log.warn({ workflowId: run.workflowId, endpointName: spec.endpointName, tokens: tokens.length, err: errorMessage(err) }, 'generation failed mid-stream');
      writeEvent(res, 'error', {
        code: 'generation_failed',
        message: `Generation on endpoint ${spec.endpointName} failed after ${tokens.length} token(s): ${errorMessage(err)}`,
      });
      res.end();
    } finally {
      streams.delete(controller);
    }
  }

  function logged(httpErr: HttpError, cause: unknown): HttpError {
    if (httpErr.status >= 500) log.warn({ code: httpErr.code, err: errorMessage(cause) }, 'ragQuery failed');
    return httpErr;
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const ctx: RequestContext = { received: performance.now(), debug: url.searchParams.get('debug') === '1' };
    res.on('close', () => {
      log.info(
        { method: req.method, path: url.pathname, status: res.statusCode, ms: Math.round(performance.now() - ctx.received), key: ctx.key, workflowId: ctx.workflowId, completed: res.writableFinished },
        'request',
      );
    });
    const route = async () => {
      if (url.pathname === '/healthz') {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', 'Use GET /healthz', { allow: 'GET, HEAD' });
        return sendJson(res, 200, { status: 'ok' });
      }
      if (url.pathname === '/rag' || url.pathname === '/rag/stream') {
        if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', `Use POST ${url.pathname}`, { allow: 'POST' });
        return url.pathname === '/rag' ? answer(req, res, ctx) : stream(req, res, ctx);
      }
      throw new HttpError(404, 'not_found', `No route for ${req.method} ${url.pathname}; try POST /rag, POST /rag/stream or GET /healthz`);
    };
    route().catch((err: unknown) => {
      const httpErr = err instanceof HttpError ? err : new HttpError(500, 'internal', 'Internal error');
      if (!(err instanceof HttpError)) log.error({ err }, 'unhandled error');
      if (res.headersSent) {
        if (!res.writableEnded) res.end();
        return;
      }
      req.resume();
      sendError(res, httpErr);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  log.info({ url, endpointName: opts.defaults.endpointName, taskQueue, keys: opts.apiKeys.length, rateLimitPerMinute: perMinute }, 'rag service listening');

  return {
    url,
    port,
    async close() {
      for (const c of streams) c.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Requests still waiting on a workflow get a few seconds, then their sockets are closed.
      const force = setTimeout(() => server.closeAllConnections(), 5000);
      await closed;
      clearTimeout(force);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// CLI entry

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { Command, InvalidArgumentError } = await import('commander');
  const { createAwsClients } = await import('../activities/aws-clients');
  const { connectClient } = await import('./temporal-client');
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
    .option('--rate-limit <n>', 'requests per minute per API key', int(1), 60)
    .option('--max-body-bytes <n>', 'largest request body', int(1), 16 * 1024)
    .option('--max-query-chars <n>', 'longest query', int(1), 2000)
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

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`Error: ${errorMessage(err)}\n`);
    process.exit(1);
  });
}
