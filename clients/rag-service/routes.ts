// The RAG service's routes, and only those:
//   POST /rag         → runs the ragQuery workflow, answers its RagQueryResult as JSON
//   POST /rag/stream  → Server-Sent Events: ragQuery with prepareOnly (embed, retrieve, rerank,
//                       build the prompt), then the tokens as the endpoint produces them
//                       (InvokeEndpointWithResponseStream), then `done` with sources and timings;
//                       a generation past its deadline ends with an `error` event instead
//   GET  /healthz     → the process is up (liveness)
//   GET  /readyz      → Temporal and the default endpoints answer (readiness.ts); 503 with reasons
//   GET  /metrics     → Prometheus text (metrics.ts)
//   GET  /, /chat.js, /chat.css, /favicon.svg → the chat page (chat-page.ts)
// Both POSTs pass admission.ts first; errors thrown here become {"error"} bodies in server.ts.
// An inference component with no copy (scaled to zero, waking) is 503 + Retry-After (no-capacity.ts).
// A client that goes away cancels what runs for it: the ragQuery run, the endpoint stream.
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { Client } from '@temporalio/client';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { appendMonitoringRecord } from '../../activities/monitoring.js';
import { ragGenerationParameters } from '../../activities/generation.js';
import { streamGenerate } from '../../activities/runtime.js';
import type { RagQuerySpec } from '../../common/rag-input.js';
import { randomUUID } from 'node:crypto';
import { executeRagQuery, type RagQueryRun } from '../workflow-runs.js';
import type { Admission } from './admission.js';
import { NO_CAPACITY_RETRY_AFTER_SECONDS, noCapacityHttpError } from './no-capacity.js';
import { sendPageAsset, type PageAssets } from './chat-page.js';
import type { RagServiceMetrics } from './metrics.js';
import type { ReadinessReport } from './readiness.js';
import { CLIENT_CLOSED, errorMessage, HttpError, SEE_LOG, sendJson, startEventStream, workflowHttpError, writeEvent, type RequestContext } from './http.js';

export interface RouteDeps {
  admit: Admission;
  client: Client;
  runtime: SageMakerRuntimeClient;
  taskQueue: string;
  /** A rag worker runs in this process on the client's connection: start ragQuery eagerly on it. */
  eagerStart: boolean;
  workflowTimeoutMs: number;
  /** How long /rag/stream may generate before it ends the stream with an error event. */
  generationTimeoutMs: number;
  /** Where /rag/stream appends its prompt-monitoring records (undefined: the default file). */
  monitoringFile?: string;
  /** Aborts the endpoint streams in flight (reason 'shutdown'); the server's close() uses it. */
  streams: Set<AbortController>;
  metrics: RagServiceMetrics;
  readiness: () => Promise<ReadinessReport>;
  page: PageAssets;
}

export type Route = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext, path: string) => Promise<void>;

/** Why /rag/stream stopped generating early (the reason its AbortController aborted with). */
type StopReason = 'client gone' | 'deadline' | 'shutdown';

export function createRoutes(deps: RouteDeps): Route {
  /** Admits the request and runs ragQuery for it; a failed run is the HTTP error it means. */
  async function admitAndRun(req: IncomingMessage, ctx: RequestContext, stream: boolean): Promise<{ spec: RagQuerySpec; run: RagQueryRun }> {
    const spec = await deps.admit(req, ctx, stream);
    ctx.workflowId = `rag-${randomUUID()}`;
    try {
      const run = await executeRagQuery(deps.client, spec, {
        taskQueue: deps.taskQueue,
        timeoutMs: deps.workflowTimeoutMs,
        workflowId: ctx.workflowId,
        signal: ctx.gone,
        eagerStart: deps.eagerStart,
      });
      return { spec, run };
    } catch (err) {
      const waking = noCapacityHttpError(err, spec.endpointName);
      if (waking) {
        ctx.log.info({ workflowId: ctx.workflowId, endpointName: spec.endpointName }, 'endpoint has no capacity (scaled to zero); 503 with Retry-After');
        throw waking;
      }
      const httpErr = workflowHttpError(err);
      const cause = err instanceof Error && err.cause ? errorMessage(err.cause) : undefined;
      if (httpErr.status === CLIENT_CLOSED) ctx.log.info({ workflowId: ctx.workflowId }, 'client disconnected; ragQuery cancelled');
      else if (httpErr.status >= 500) ctx.log.warn({ code: httpErr.code, workflowId: ctx.workflowId, err: errorMessage(err), cause }, 'ragQuery failed');
      throw httpErr;
    }
  }

  async function answer(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    const { run } = await admitAndRun(req, ctx, false);
    deps.metrics.steps('/rag', run.result.timings);
    const { prompt: _prompt, ...withoutPrompt } = run.result;
    sendJson(res, 200, ctx.debug ? run.result : withoutPrompt, { 'x-workflow-id': run.workflowId });
  }

  async function stream(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    const { spec, run } = await admitAndRun(req, ctx, true);
    const prepared = run.result;
    const { log } = ctx;
    if (res.destroyed) {
      log.info({ workflowId: run.workflowId }, 'client disconnected before generation; nothing streamed');
      return;
    }

    // From here the status is 200: failures become `error` events.
    startEventStream(res, { 'x-workflow-id': run.workflowId, 'x-endpoint-name': spec.endpointName });
    deps.metrics.steps('/rag/stream', prepared.timings);
    deps.metrics.streamsInFlight.inc();
    const controller = new AbortController();
    const stop = (reason: StopReason) => controller.abort(reason);
    deps.streams.add(controller);
    ctx.gone.addEventListener('abort', () => stop('client gone'), { once: true });
    const deadline = setTimeout(() => stop('deadline'), deps.generationTimeoutMs);
    const tokens: string[] = [];
    try {
      const out = await streamGenerate(
        deps.runtime,
        {
          endpointName: spec.endpointName,
          inferenceComponentName: spec.inferenceComponentName,
          inputs: prepared.prompt,
          parameters: ragGenerationParameters(spec.generation),
          format: spec.format,
        },
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
      deps.metrics.steps('/rag/stream', { generate: out.latencyMs });
      deps.metrics.generation(timings.ttft, out.tokens, out.latencyMs);
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
        await appendMonitoringRecord(
          { ...prepared, answer: answerText, timings, usage, at: new Date().toISOString(), via: 'stream', workflowId: run.workflowId },
          deps.monitoringFile,
        );
      } catch (err) {
        log.error({ workflowId: run.workflowId, err: errorMessage(err) }, 'could not append the prompt-monitoring record');
      }
      res.end();
    } catch (err) {
      const reason = controller.signal.aborted ? (controller.signal.reason as StopReason) : undefined;
      if (reason === 'client gone') {
        log.info({ workflowId: run.workflowId, tokens: tokens.length }, 'client disconnected; endpoint stream aborted');
        res.destroy();
        return;
      }
      const { requestId } = ctx;
      const waking = reason ? undefined : noCapacityHttpError(err, spec.endpointName);
      deps.metrics.error(
        '/rag/stream',
        reason === 'deadline' ? 'generation_timeout' : reason === 'shutdown' ? 'shutting_down' : waking ? waking.code : 'generation_failed',
      );
      if (reason === 'deadline') {
        log.warn(
          { workflowId: run.workflowId, endpointName: spec.endpointName, tokens: tokens.length, generationTimeoutMs: deps.generationTimeoutMs },
          'generation deadline passed; endpoint stream aborted',
        );
        writeEvent(res, 'error', {
          code: 'generation_timeout',
          message: `Generation on endpoint ${spec.endpointName} did not finish within ${deps.generationTimeoutMs} ms; stopped after ${tokens.length} token(s)`,
          requestId,
        });
      } else if (reason === 'shutdown') {
        writeEvent(res, 'error', { code: 'shutting_down', message: `The service is stopping; generation stopped after ${tokens.length} token(s)`, requestId });
      } else if (waking) {
        // The stream's head (200) is already out, so the 503 it would have been becomes this event.
        log.info({ workflowId: run.workflowId, endpointName: spec.endpointName }, 'endpoint has no capacity (scaled to zero)');
        writeEvent(res, 'error', { code: waking.code, message: waking.message, retryAfterSeconds: NO_CAPACITY_RETRY_AFTER_SECONDS, requestId });
      } else {
        log.warn(
          { workflowId: run.workflowId, endpointName: spec.endpointName, tokens: tokens.length, err: errorMessage(err) },
          'generation failed mid-stream',
        );
        writeEvent(res, 'error', {
          code: 'generation_failed',
          message: `Generation on endpoint ${spec.endpointName} failed after ${tokens.length} token(s); ${SEE_LOG}`,
          requestId,
        });
      }
      res.end();
    } finally {
      clearTimeout(deadline);
      deps.streams.delete(controller);
      deps.metrics.streamsInFlight.dec();
    }
  }

  const onlyGet = (req: IncomingMessage, path: string) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', `Use GET ${path}`, { allow: 'GET, HEAD' });
  };

  return async (req, res, ctx, path) => {
    if (path === '/healthz') {
      onlyGet(req, path);
      return sendJson(res, 200, { status: 'ok' });
    }
    if (path === '/readyz') {
      onlyGet(req, path);
      const report = await deps.readiness();
      if (!report.ready) ctx.log.warn({ reasons: report.reasons }, 'not ready');
      return sendJson(res, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not ready', ...report });
    }
    if (path === '/metrics') {
      onlyGet(req, path);
      const text = await deps.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': deps.metrics.registry.contentType, 'cache-control': 'no-store' });
      return void res.end(text);
    }
    const asset = deps.page.get(path);
    if (asset) {
      onlyGet(req, path);
      return sendPageAsset(res, asset, req.method === 'HEAD');
    }
    if (path === '/rag' || path === '/rag/stream') {
      if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', `Use POST ${path}`, { allow: 'POST' });
      return path === '/rag' ? answer(req, res, ctx) : stream(req, res, ctx);
    }
    throw new HttpError(
      404,
      'not_found',
      `No route for ${req.method} ${path}; try GET / (the chat page), POST /rag, POST /rag/stream, GET /healthz, GET /readyz or GET /metrics`,
    );
  };
}
