// What every request to the local cloud passes before any handler sees it, whatever service
// it is for (ours or moto's): the local cloud is a development tool on loopback, next to the
// developer's browser, so a web page must not be able to drive it.
//   - Host must be loopback (localhost, *.localhost, 127.0.0.0/8, [::1]) or listed in
//     LOCAL_CLOUD_ALLOWED_HOSTS: a DNS-rebinding name (evil.example resolving to 127.0.0.1) is
//     refused.
//   - Origin, when a browser sends one, must be listed in LOCAL_CLOUD_ALLOWED_ORIGINS (empty by
//     default, like LocalStack's EXTRA_CORS_ALLOWED_ORIGINS); allowed origins get CORS answers
//     from here (moto runs with its own allow-all CORS off), others a 403 and no CORS headers.
//   - A body declared larger than its service takes is refused before it is read (bodies sent
//     without a length are bounded while they are read: readBoundedBody).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { localCloudConfig } from '../common/config.js';

export const ALLOWED_ORIGINS_ENV = 'LOCAL_CLOUD_ALLOWED_ORIGINS';
export const ALLOWED_HOSTS_ENV = 'LOCAL_CLOUD_ALLOWED_HOSTS';

/** SageMaker Runtime's BodyBlob (botocore: max 6291456), InvokeEndpoint's payload limit. */
export const MAX_INVOCATION_BODY_BYTES = 6 * 1024 * 1024;
/** Control-plane requests (SageMaker, IAM, STS, Auto Scaling, Secrets Manager...): a local cap, see docs/local-cloud.md. */
export const MAX_CONTROL_PLANE_BODY_BYTES = 5 * 1024 * 1024;
/** S3 PutObject/UploadPart's single-request maximum on AWS (5 GiB). */
export const MAX_S3_BODY_BYTES = 5 * 1024 * 1024 * 1024;

/** AWS's wording for a Body over BodyBlob's limit (a constraint violation on 'body'). */
export const invocationTooLargeMessage = (limit: number) =>
  `1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have length less than or equal to ${limit}`;
export const controlPlaneTooLargeMessage = (limit: number) =>
  `The request body is larger than the ${limit} bytes the local cloud accepts for a control-plane request.`;

export type RequestKind = 'sagemaker' | 'runtime' | 's3' | 'other';

export interface RequestGuardOptions {
  /** Origins (scheme://host[:port]) a browser may call from. */
  allowedOrigins: readonly string[];
  /** Host names besides loopback that requests may be addressed to (a compose service name). */
  allowedHosts: readonly string[];
}

const list = (raw: string | undefined) =>
  (raw ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase().replace(/\/+$/, ''))
    .filter(Boolean);

export function requestGuardOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): RequestGuardOptions {
  const configured = localCloudConfig.read(env);
  return { allowedOrigins: list(configured.LOCAL_CLOUD_ALLOWED_ORIGINS), allowedHosts: list(configured.LOCAL_CLOUD_ALLOWED_HOSTS) };
}

/** The host name of a Host header value, without port or IPv6 brackets, lowercased. */
function hostName(host: string): string {
  const value = host.trim().toLowerCase();
  const name = value.startsWith('[') ? value.slice(1, value.indexOf(']')) : value.replace(/:\d*$/, '');
  return name.replace(/\.$/, '');
}

function isLoopbackName(name: string): boolean {
  if (name === 'localhost' || name.endsWith('.localhost') || name === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** The limit a request's body is held to, by the service it is for. */
export function bodyLimit(kind: RequestKind): number {
  if (kind === 'runtime') return MAX_INVOCATION_BODY_BYTES;
  if (kind === 's3') return MAX_S3_BODY_BYTES;
  return MAX_CONTROL_PLANE_BODY_BYTES;
}

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`The request body is larger than ${limit} bytes.`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a body, keeping none of it past `limit`: the rest is drained and dropped, so the
 * caller can still answer with its error before the connection closes.
 */
export function readBoundedBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let seen = 0;
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen <= limit) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      chunks.length = 0;
      req.resume();
      reject(new BodyTooLargeError(limit));
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** Headers an AWS SDK in a browser needs to read from a response. */
const EXPOSED_HEADERS = [
  'ETag',
  'x-amz-request-id',
  'x-amz-id-2',
  'x-amz-version-id',
  'x-amz-delete-marker',
  'x-amzn-RequestId',
  'x-amzn-ErrorType',
  'x-amzn-Invoked-Production-Variant',
  'X-Amzn-SageMaker-Custom-Attributes',
  'X-Amzn-SageMaker-Content-Type',
  'X-Amzn-SageMaker-OutputLocation',
  'X-Amzn-SageMaker-FailureLocation',
].join(', ');

function refuse(res: ServerResponse, kind: RequestKind, status: number, code: string, message: string): true {
  // S3 speaks XML; every other service here reads `__type`/`message` (JSON) or `x-amzn-ErrorType`.
  const xml = kind === 's3';
  const escaped = message.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const body = xml
    ? `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escaped}</Message></Error>`
    : JSON.stringify({ __type: code, message, Message: message });
  res.writeHead(status, {
    'Content-Type': xml ? 'application/xml' : 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-ErrorType': code,
    Connection: 'close',
  });
  res.end(body);
  return true;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Checks one request; returns true when it has been answered here (refused, or a CORS
 * preflight from an allowed origin), false when the service handlers should take it.
 */
export function guardRequest(req: IncomingMessage, res: ServerResponse, kind: RequestKind, opts: RequestGuardOptions): boolean {
  const host = header(req, 'host');
  if (host !== undefined) {
    const name = hostName(host);
    if (!isLoopbackName(name) && !opts.allowedHosts.includes(name)) {
      return refuse(
        res,
        kind,
        403,
        kind === 's3' ? 'AccessDenied' : 'AccessDeniedException',
        `The local cloud refuses requests addressed to host '${host}': it serves loopback names only (localhost, 127.0.0.0/8, [::1]) and those listed in ${ALLOWED_HOSTS_ENV}. A foreign host name pointing at this machine is how DNS rebinding reaches local servers.`,
      );
    }
  }
  const origin = header(req, 'origin');
  if (origin !== undefined) {
    if (!opts.allowedOrigins.includes(origin.trim().toLowerCase().replace(/\/+$/, ''))) {
      return refuse(
        res,
        kind,
        403,
        kind === 's3' ? 'AccessDenied' : 'AccessDeniedException',
        `The local cloud refuses cross-origin requests from '${origin}': only origins listed in ${ALLOWED_ORIGINS_ENV} (none by default) may call it from a browser.`,
      );
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    const requestedMethod = header(req, 'access-control-request-method');
    if (req.method === 'OPTIONS' && requestedMethod !== undefined) {
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, PUT, POST, DELETE, HEAD',
        'Access-Control-Allow-Headers': header(req, 'access-control-request-headers') ?? '',
        'Access-Control-Max-Age': '600',
        'Content-Length': 0,
      });
      res.end();
      return true;
    }
  }
  const declared = Number(header(req, 'content-length'));
  const limit = bodyLimit(kind);
  if (Number.isFinite(declared) && declared > limit) {
    if (kind === 'runtime') {
      return refuse(res, kind, 413, 'ValidationError', invocationTooLargeMessage(limit));
    }
    if (kind === 's3') {
      return refuse(res, kind, 400, 'EntityTooLarge', `Your proposed upload exceeds the maximum allowed size (${limit} bytes).`);
    }
    return refuse(res, kind, 413, 'RequestEntityTooLarge', controlPlaneTooLargeMessage(limit));
  }
  return false;
}
