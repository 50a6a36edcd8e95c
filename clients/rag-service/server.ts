// The RAG business service's lifecycle (the reference design's `POST /rag`): a node:http server
// on loopback by default, an access log line per request, every error as
// {"error": {"code", "message"}}, and a close() that ends streams and waits a little for
// requests still running. What is checked is in admission.ts, what is served in routes.ts.
//
// No web framework: three routes, and each concern is a few lines over node:http; a framework
// would add a dependency tree without removing any of the code that matters here.
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { Client } from '@temporalio/client';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { RAG_TASK_QUEUE } from '../../common/task-queues.js';
import { createAdmission, ADMISSION_DEFAULTS, type AdmissionOptions } from './admission.js';
import { HttpError, sendError, type RequestContext } from './http.js';
import { createRoutes } from './routes.js';

export interface RagServiceOptions extends AdmissionOptions {
  /** 0 (or omitted) picks a free port. */
  port?: number;
  host?: string;
  client: Client;
  runtime: SageMakerRuntimeClient;
  sagemaker: SageMakerClient;
  /** How long a request waits for the ragQuery workflow before answering 504 (default 60 s). */
  workflowTimeoutMs?: number;
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

export async function startRagService(opts: RagServiceOptions): Promise<RagService> {
  const log = opts.logger ?? pino({ level: process.env.LLMOPS_LOG_LEVEL ?? 'info', base: { service: 'rag' } }, pino.destination(2));
  const taskQueue = opts.taskQueue ?? RAG_TASK_QUEUE;
  const streams = new Set<AbortController>();
  const route = createRoutes({
    admit: createAdmission(opts, log),
    client: opts.client,
    runtime: opts.runtime,
    taskQueue,
    workflowTimeoutMs: opts.workflowTimeoutMs ?? 60_000,
    monitoringFile: opts.monitoringFile,
    log,
    streams,
  });

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const ctx: RequestContext = { received: performance.now(), debug: url.searchParams.get('debug') === '1' };
    res.on('close', () => {
      log.info(
        { method: req.method, path: url.pathname, status: res.statusCode, ms: Math.round(performance.now() - ctx.received), key: ctx.key, workflowId: ctx.workflowId, completed: res.writableFinished },
        'request',
      );
    });
    route(req, res, ctx, url.pathname).catch((err: unknown) => {
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
  log.info({ url, endpointName: opts.defaults.endpointName, taskQueue, keys: opts.apiKeys.length, rateLimitPerMinute: opts.rateLimitPerMinute ?? ADMISSION_DEFAULTS.rateLimitPerMinute }, 'rag service listening');

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
