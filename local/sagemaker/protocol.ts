// The AWS JSON 1.1 wire protocol as SageMaker speaks it: `POST /` with
// `X-Amz-Target: SageMaker.<Operation>`, a JSON body, timestamps as epoch seconds, and errors
// as HTTP 4xx/5xx with `{"__type": "...", "message": "..."}` plus an `x-amzn-ErrorType` header.
// The SDKs (JS v3, botocore) take the error code from that header or `__type` and the message
// from `message`, so `err.name` / `err.message` come out exactly as they do against AWS.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, controlPlaneTooLargeMessage, MAX_CONTROL_PLANE_BODY_BYTES, readBoundedBody } from '../request-guard.js';

export const TARGET_PREFIX = 'SageMaker.';

/**
 * A request or response shape as it travels on the wire: the SDK's `Date` fields become epoch
 * seconds (the SDKs send numbers; strings are tolerated since botocore accepts ISO-8601 too).
 */
export type Wire<T> = T extends Date ? number | string : T extends ReadonlyArray<infer U> ? Wire<U>[] : T extends object ? { [K in keyof T]: Wire<T[K]> } : T;

/** An error that reaches the client as an AWS service error with this code and message. */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = code;
  }
}

export const validationError = (message: string) => new AwsServiceError('ValidationException', message);

/** The operation name from `X-Amz-Target`, or undefined when the header is not SageMaker's. */
export function sageMakerOperation(req: IncomingMessage): string | undefined {
  const target = req.headers['x-amz-target'];
  const value = Array.isArray(target) ? target[0] : target;
  return value?.startsWith(TARGET_PREFIX) ? value.slice(TARGET_PREFIX.length) : undefined;
}

export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let body: Buffer;
  try {
    body = await readBoundedBody(req, MAX_CONTROL_PLANE_BODY_BYTES);
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err;
    throw new AwsServiceError('RequestEntityTooLarge', controlPlaneTooLargeMessage(err.limit), 413);
  }
  const text = body.toString('utf8').trim();
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AwsServiceError('SerializationException', 'Request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AwsServiceError('SerializationException', 'Request body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

/** JSON with every `Date` as epoch seconds (fractional), which is how JSON 1.1 sends timestamps. */
export function toWireJson(value: unknown): string {
  // JSON.stringify applies Date#toJSON before a replacer sees the value, so read the raw
  // property from the holder (`this`) to catch Dates.
  return JSON.stringify(value, function (this: Record<string, unknown>, key, replaced: unknown) {
    const raw = this[key];
    return raw instanceof Date ? raw.getTime() / 1000 : replaced;
  });
}

/** Parses a wire timestamp (epoch seconds, or an ISO-8601 string) into epoch milliseconds. */
export function wireTimeToMs(value: number | string): number {
  if (typeof value === 'number') return value * 1000;
  const asNumber = Number(value);
  return Number.isFinite(asNumber) ? asNumber * 1000 : Date.parse(value);
}

function send(res: ServerResponse, status: number, body: string, extraHeaders: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-RequestId': randomUUID(),
    ...extraHeaders,
  });
  res.end(body);
}

export function sendResult(res: ServerResponse, output: unknown): void {
  send(res, 200, toWireJson(output ?? {}));
}

export function sendError(res: ServerResponse, err: AwsServiceError): void {
  send(res, err.statusCode, JSON.stringify({ __type: err.code, message: err.message }), {
    'x-amzn-ErrorType': err.code,
  });
}
