// The RAG service's routes, and only those:
//   POST /rag         → runs the ragQuery workflow, answers its RagQueryResult as JSON
//   POST /rag/stream  → Server-Sent Events: ragQuery with prepareOnly (embed, retrieve, rerank,
//                       build the prompt), then the tokens as the endpoint produces them
//                       (InvokeEndpointWithResponseStream), then `done` with sources and timings;
//                       a generation past its deadline ends with an `error` event instead
//   GET  /healthz
// Both POSTs pass admission.ts first; errors thrown here become {"error"} bodies in server.ts.
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
import { CLIENT_CLOSED, errorMessage, HttpError, SEE_LOG, sendJson, startEventStream, workflowHttpError, writeEvent, type RequestContext } from './http.js';

export interface RouteDeps {
  admit: Admission;
  client: Client;
  runtime: SageMakerRuntimeClient;
  taskQueue: string;
  workflowTimeoutMs: number;
  /** How long /rag/stream may generate before it ends the stream with an error event. */
  generationTimeoutMs: number;
  /** Where /rag/stream appends its prompt-monitoring records (undefined: the default file). */
  monitoringFile?: string;
  /** Aborts the endpoint streams in flight (reason 'shutdown'); the server's close() uses it. */
  streams: Set<AbortController>;
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
      const run = await executeRagQuery(deps.client, spec, { taskQueue: deps.taskQueue, timeoutMs: deps.workflowTimeoutMs, workflowId: ctx.workflowId, signal: ctx.gone });
      return { spec, run };
    } catch (err) {
      const httpErr = workflowHttpError(err);
      const cause = err instanceof Error && err.cause ? errorMessage(err.cause) : undefined;
      if (httpErr.status === CLIENT_CLOSED) ctx.log.info({ workflowId: ctx.workflowId }, 'client disconnected; ragQuery cancelled');
      else if (httpErr.status >= 500) ctx.log.warn({ code: httpErr.code, workflowId: ctx.workflowId, err: errorMessage(err), cause }, 'ragQuery failed');
      throw httpErr;
    }
  }

  async function answer(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    const { run } = await admitAndRun(req, ctx, false);
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
    startEventStream(res, { 'x-workflow-id': run.workflowId });
    const controller = new AbortController();
    const stop = (reason: StopReason) => controller.abort(reason);
    deps.streams.add(controller);
    ctx.gone.addEventListener('abort', () => stop('client gone'), { once: true });
    const deadline = setTimeout(() => stop('deadline'), deps.generationTimeoutMs);
    const tokens: string[] = [];
    try {
      const out = await streamGenerate(
        deps.runtime,
        { endpointName: spec.endpointName, inputs: prepared.prompt, parameters: ragGenerationParameters(spec.generation), format: spec.format },
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
        await appendMonitoringRecord({ ...prepared, answer: answerText, timings, usage, at: new Date().toISOString(), via: 'stream', workflowId: run.workflowId }, deps.monitoringFile);
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
      if (reason === 'deadline') {
        log.warn({ workflowId: run.workflowId, endpointName: spec.endpointName, tokens: tokens.length, generationTimeoutMs: deps.generationTimeoutMs }, 'generation deadline passed; endpoint stream aborted');
        writeEvent(res, 'error', {
          code: 'generation_timeout',
          message: `Generation on endpoint ${spec.endpointName} did not finish within ${deps.generationTimeoutMs} ms; stopped after ${tokens.length} token(s)`,
          requestId,
        });
      } else if (reason === 'shutdown') {
        writeEvent(res, 'error', { code: 'shutting_down', message: `The service is stopping; generation stopped after ${tokens.length} token(s)`, requestId });
      } else {
        log.warn({ workflowId: run.workflowId, endpointName: spec.endpointName, tokens: tokens.length, err: errorMessage(err) }, 'generation failed mid-stream');
        writeEvent(res, 'error', { code: 'generation_failed', message: `Generation on endpoint ${spec.endpointName} failed after ${tokens.length} token(s); ${SEE_LOG}`, requestId });
      }
      res.end();
    } finally {
      clearTimeout(deadline);
      deps.streams.delete(controller);
    }
  }

  return async (req, res, ctx, path) => {
    if (path === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', 'Use GET /healthz', { allow: 'GET, HEAD' });
      return sendJson(res, 200, { status: 'ok' });
    }
    if (path === '/rag' || path === '/rag/stream') {
      if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', `Use POST ${path}`, { allow: 'POST' });
      return path === '/rag' ? answer(req, res, ctx) : stream(req, res, ctx);
    }
    throw new HttpError(404, 'not_found', `No route for ${req.method} ${path}; try POST /rag, POST /rag/stream or GET /healthz`);
  };
}
