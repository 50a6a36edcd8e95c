// The RAG service's HTTP plumbing over node:http: the error type every step throws and its
// {"error": {"code", "message", "requestId"}} body, JSON and server-sent-event responses, reading
// a bounded body, and what a failed ragQuery run means for an HTTP caller. A 5xx message says
// what happened, never why in internal terms: the why goes to the log under the request id.
import { ApplicationFailure, ServiceError, TimeoutFailure, WorkflowFailedError } from '@temporalio/client';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { RagQueryAbandonedError, RagQueryTimeoutError } from '../workflow-runs.js';

/** Per-request facts, for the handlers and the access log. */
export interface RequestContext {
  received: number;
  /** Also the X-Request-Id response header, and on every log line of the request. */
  requestId: string;
  log: Logger;
  /** Aborts when the client goes away before the answer is complete. */
  gone: AbortSignal;
  debug: boolean;
  /** Index of the caller's API key in the configured list (never the key itself). */
  key?: number;
  workflowId?: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError, requestId: string): void {
  sendJson(res, err.status, { error: { code: err.code, message: err.message, requestId } }, err.headers);
}

/** The body of a 5xx: the details are in the log, under the request id the body carries. */
export const SEE_LOG = 'the service log has the details under this requestId';

/** The 200 head of a server-sent-events answer, sent at once so the client sees the stream open. */
export function startEventStream(res: ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    ...headers,
  });
  res.flushHeaders();
}

export function writeEvent(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** The body as a string, or 413 as soon as it is known to be larger than `max` bytes. */
export function readBody(req: IncomingMessage, max: number): Promise<string> {
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

/** The HTTP status nginx logs for a client that closed the connection before the answer. */
export const CLIENT_CLOSED = 499;

/** What a failed ragQuery means for an HTTP caller (the caller logs the details of a 5xx). */
export function workflowHttpError(err: unknown): HttpError {
  if (err instanceof RagQueryAbandonedError)
    return new HttpError(CLIENT_CLOSED, 'client_closed_request', 'The client closed the connection; the query was cancelled');
  if (err instanceof RagQueryTimeoutError)
    return new HttpError(504, 'workflow_timeout', `The query did not finish within ${err.timeoutMs} ms and was cancelled; try again later`);
  if (err instanceof WorkflowFailedError) {
    const cause = err.cause;
    // The caller's own input: the message is theirs to read.
    if (cause instanceof ApplicationFailure && cause.type === 'InvalidInput') return new HttpError(400, 'invalid_input', cause.message);
    if (cause instanceof TimeoutFailure) return new HttpError(504, 'workflow_timeout', `The query workflow timed out; ${SEE_LOG}`);
    return new HttpError(502, 'rag_query_failed', `The query workflow failed; ${SEE_LOG}`);
  }
  if (err instanceof ServiceError)
    return new HttpError(503, 'temporal_unavailable', 'The workflow service is unavailable; try again later', { 'retry-after': '5' });
  return new HttpError(500, 'internal', `Internal error; ${SEE_LOG}`);
}
