// The RAG business service's lifecycle (the reference design's `POST /rag`): a node:http server
// on loopback by default with bounded connections (header, request and keep-alive timeouts, a
// connection cap), a request id per request (X-Request-Id, on its log lines and error bodies),
// an access log line per request, every error as {"error": {"code", "message", "requestId"}},
// and a close() that ends streams and waits a little for requests still running. What is checked
// is in admission.ts, what is served in routes.ts.
//
// No web framework: a handful of routes, and each concern is a few lines over node:http; a framework
// would add a dependency tree without removing any of the code that matters here.
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { RAG_TASK_QUEUE } from '../../common/task-queues.js';
import { createAdmission, ADMISSION_DEFAULTS, type AdmissionOptions } from './admission.js';
import { checkApiKeyGrants } from './api-keys.js';
import { loadChatPage } from './chat-page.js';
import { EndpointStatusCache } from './endpoint-status.js';
import { createRagServiceMetrics, routeLabel, type RagServiceMetrics } from './metrics.js';
import { createReadiness } from './readiness.js';
import { HttpError, SEE_LOG, sendError, type RequestContext } from './http.js';
import { createRoutes } from './routes.js';
import { createRagWorker, type RagWorkerOptions } from '../../workers/rag.js';
import { logLevel } from '../../common/config.js';

export interface RagServiceOptions extends AdmissionOptions {
  /** 0 (or omitted) picks a free port. */
  port?: number;
  host?: string;
  client: Client;
  runtime: SageMakerRuntimeClient;
  sagemaker: SageMakerClient;
  /** How long a request waits for the ragQuery workflow before answering 504 (default 60 s). */
  workflowTimeoutMs?: number;
  /** How long /rag/stream may generate before the stream ends with an error event (default 120 s). */
  generationTimeoutMs?: number;
  /** A client must have sent all request headers within this (default 10 s); else 408 and closed. */
  headersTimeoutMs?: number;
  /** ...and the whole request, headers and body, within this (default 30 s); else 408 and closed. */
  requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** Connections beyond this many are closed at once, unanswered (default 256). */
  maxConnections?: number;
  taskQueue?: string;
  /**
   * Run a rag worker for `taskQueue` in this process, on the client's connection (which must then
   * be a NativeConnection), and start each ragQuery eagerly on it: the start response carries the
   * first workflow task, so a query costs no task-queue round trip. Other rag workers may serve
   * the same queue; a query whose worker here dies is retried by them after the workflow task timeout.
   */
  ragWorker?: Omit<RagWorkerOptions, 'connection' | 'taskQueue' | 'namespace'>;
  /** Where /rag/stream appends its prompt-monitoring records (default: LLMOPS_MONITORING_FILE or .monitoring/prompts.jsonl). */
  monitoringFile?: string;
  logger?: Logger;
}

/** The connection limits when the options do not say. */
export const SERVER_DEFAULTS = {
  workflowTimeoutMs: 60_000,
  generationTimeoutMs: 120_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
} as const;

/** The timing and connection options, filled in; an Error naming the option and the rule. */
function serverLimits(opts: RagServiceOptions): Record<keyof typeof SERVER_DEFAULTS, number> {
  const limits: Record<keyof typeof SERVER_DEFAULTS, number> = { ...SERVER_DEFAULTS };
  for (const name of Object.keys(SERVER_DEFAULTS) as Array<keyof typeof SERVER_DEFAULTS>) {
    const value = opts[name];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name}: must be a positive integer (got ${value})`);
    limits[name] = value;
  }
  // Node refuses the opposite; say it in the options' own terms.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new Error(`headersTimeoutMs: must not exceed requestTimeoutMs (${limits.headersTimeoutMs} > ${limits.requestTimeoutMs})`);
  }
  return limits;
}

export interface RagService {
  url: string;
  port: number;
  /** What GET /metrics serves. */
  metrics: RagServiceMetrics;
  close(): Promise<void>;
}

export async function startRagService(opts: RagServiceOptions): Promise<RagService> {
  const log = opts.logger ?? pino({ level: logLevel(), base: { service: 'rag' } }, pino.destination(2));
  const taskQueue = opts.taskQueue ?? RAG_TASK_QUEUE;
  const limits = serverLimits(opts);
  const hosted = opts.ragWorker && (await hostRagWorker(opts, taskQueue));
  const streams = new Set<AbortController>();
  const metrics = createRagServiceMetrics();
  const endpointStatus = new EndpointStatusCache(opts.sagemaker, opts.endpointStatusTtlMs ?? 5000);
  const route = createRoutes({
    admit: createAdmission(opts, endpointStatus),
    metrics,
    // The endpoints a request that names none goes to: what must be InService to be ready.
    readiness: createReadiness({ client: opts.client, endpointStatus, endpoints: checkApiKeyGrants(opts.apiKeys).map((g) => g.endpoints[0]) }),
    page: loadChatPage(),
    client: opts.client,
    runtime: opts.runtime,
    taskQueue,
    eagerStart: Boolean(hosted),
    workflowTimeoutMs: limits.workflowTimeoutMs,
    generationTimeoutMs: limits.generationTimeoutMs,
    monitoringFile: opts.monitoringFile,
    streams,
  });

  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks the two timeouts above only this often (30 s by default).
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const requestId = randomUUID();
      const gone = new AbortController();
      const ctx: RequestContext = {
        received: performance.now(),
        requestId,
        log: log.child({ requestId }),
        gone: gone.signal,
        debug: url.searchParams.get('debug') === '1',
      };
      res.setHeader('x-request-id', requestId);
      res.on('close', () => {
        if (!res.writableFinished) gone.abort();
        metrics.request(routeLabel(url.pathname), req.method ?? 'GET', res.statusCode, (performance.now() - ctx.received) / 1000);
        ctx.log.info(
          {
            method: req.method,
            path: url.pathname,
            status: res.statusCode,
            ms: Math.round(performance.now() - ctx.received),
            key: ctx.key,
            workflowId: ctx.workflowId,
            completed: res.writableFinished,
          },
          'request',
        );
      });
      route(req, res, ctx, url.pathname).catch((err: unknown) => {
        const httpErr = err instanceof HttpError ? err : new HttpError(500, 'internal', `Internal error; ${SEE_LOG}`);
        if (!(err instanceof HttpError)) ctx.log.error({ err }, 'unhandled error');
        metrics.error(routeLabel(url.pathname), httpErr.code);
        if (res.destroyed) return; // nobody left to answer
        if (res.headersSent) {
          if (!res.writableEnded) res.end();
          return;
        }
        req.resume();
        sendError(res, httpErr, requestId);
      });
    },
  );
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => log.warn({ maxConnections: limits.maxConnections }, 'connection refused: maxConnections reached'));

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
    });
  } catch (err) {
    await hosted?.stop();
    throw err;
  }
  const { port, address } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  log.info(
    { url, taskQueue, keys: opts.apiKeys.length, rateLimitPerMinute: opts.rateLimitPerMinute ?? ADMISSION_DEFAULTS.rateLimitPerMinute, ...limits },
    'rag service listening',
  );

  return {
    url,
    port,
    metrics,
    async close() {
      for (const c of streams) c.abort('shutdown');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Requests still waiting on a workflow get a few seconds, then their sockets are closed.
      const force = setTimeout(() => server.closeAllConnections(), 5000);
      await closed;
      clearTimeout(force);
      await hosted?.stop();
    },
  };
}

/** Starts the in-process rag worker on the client's NativeConnection; stop() drains and closes it. */
async function hostRagWorker(opts: RagServiceOptions, taskQueue: string): Promise<{ stop(): Promise<void> }> {
  const connection = opts.client.connection;
  if (!(connection instanceof NativeConnection)) {
    throw new Error('ragWorker: the client must be created on a NativeConnection (the worker shares it for eager workflow start)');
  }
  const rag = await createRagWorker({ ...opts.ragWorker, connection, taskQueue, namespace: opts.client.options.namespace });
  const running = rag.worker.run();
  return {
    async stop() {
      if (rag.worker.getState() === 'RUNNING') rag.worker.shutdown();
      await running;
      await rag.close();
    },
  };
}
