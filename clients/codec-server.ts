// The codec server: lets the Temporal Web UI and CLI show (and send) the payloads the AES-GCM
// codec encrypts, without the Temporal server ever holding a key. Temporal's codec server
// protocol: POST /encode and POST /decode (also under /{namespace}/, for the CLI's endpoint
// templating), body and answer `{"payloads": [...]}` in proto3 JSON (metadata values and data
// base64), the namespace in the X-Namespace header.
//
// Anyone who can call /decode reads every prompt and answer, so in front of the codec, in order:
//   Host must be loopback (a DNS-rebinding page gets 403), an Origin header must be on the
//   allowlist (the Web UI's; 403 otherwise, preflights included), Authorization must be
//   `Bearer <LLMOPS_CODEC_SERVER_TOKEN>` (401 otherwise), body at most maxBodyBytes (413).
// It listens on 127.0.0.1 only. Logs and answers carry key ids, never key material or payloads.
//
// The Web UI of `temporal server start-dev` has no login, so it cannot send a bearer token;
// for that case alone LLMOPS_CODEC_SERVER_AUTH=none turns the token check off (loopback, Host
// and Origin checks stay). Without a token and without that opt-out the server refuses to start.
//
//   LLMOPS_CODEC_KEYS=... LLMOPS_CODEC_SERVER_TOKEN=... npm run codec-server -- --port 8888
import type { Payload, PayloadCodec } from '@temporalio/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { codecServerConfig } from '../common/config.js';

/** The origins `temporal server start-dev` serves its Web UI from. */
export const DEFAULT_UI_ORIGINS = ['http://127.0.0.1:8233', 'http://localhost:8233'];
const MIN_TOKEN_CHARS = 16;

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** The bearer token callers must present, or 'none' (local Web UI without login only). */
  auth: { token: string } | 'none';
  /** Origins whose pages may call the server (CORS); default DEFAULT_UI_ORIGINS. */
  allowedOrigins?: string[];
  /** 0 (or omitted) picks a free port. The address is always 127.0.0.1. */
  port?: number;
  /** Default 4 MiB: a Web UI history page decodes many payloads per request. */
  maxBodyBytes?: number;
  logger?: Logger;
}

export interface CodecServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;
const ROUTE = /^(?:\/[^/]+)?\/(encode|decode)$/;

function bearerMatcher(token: string): (header: string | undefined) => boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  const expected = digest(token);
  return (header) => {
    const presented = /^Bearer (.+)$/i.exec(header?.trim() ?? '')?.[1];
    return presented !== undefined && timingSafeEqual(digest(presented), expected);
  };
}

/** The body, or 413 as soon as it is known to exceed `max` bytes. */
async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const tooLarge = new HttpError(413, `The request body exceeds ${max} bytes`, { connection: 'close' });
  if (Number(req.headers['content-length']) > max) throw tooLarge;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw tooLarge;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

// proto3 JSON of a Payload: bytes fields as base64 (standard or URL-safe, padding optional).
// The SDK's payloadToJSON/JSONToPayload would do, but with the two protobufjs copies npm
// installs under @temporalio/common and @temporalio/proto they throw "type must be a Type".
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const b64 = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('base64');

function payloadFromJSON(json: unknown): Payload {
  const { metadata = {}, data = '' } = (json ?? {}) as { metadata?: unknown; data?: unknown };
  const bytes = (v: unknown) => {
    if (typeof v !== 'string' || !BASE64.test(v)) throw new TypeError('not base64');
    return new Uint8Array(Buffer.from(v, 'base64'));
  };
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new TypeError('metadata is not a map');
  return { metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, bytes(v)])), data: bytes(data ?? '') };
}

function payloadToJSON(payload: Payload): { metadata: Record<string, string>; data: string } {
  return { metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, b64(v)])), data: b64(payload.data) };
}

/** `{payloads: [...]}` in proto3 JSON, or 400 naming the first bad element. */
function parsePayloads(body: Buffer): Payload[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'The body must be JSON: {"payloads": [{"metadata": {...}, "data": "<base64>"}]}');
  }
  const payloads = (doc as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(payloads)) throw new HttpError(400, 'The body must have a "payloads" array');
  return payloads.map((p: unknown, i) => {
    try {
      return payloadFromJSON(p);
    } catch {
      throw new HttpError(400, `payloads[${i}] is not a Temporal payload in proto3 JSON (metadata values and data are base64)`);
    }
  });
}

export async function startCodecServer(opts: CodecServerOptions): Promise<CodecServer> {
  if (opts.auth !== 'none' && opts.auth.token.length < MIN_TOKEN_CHARS) {
    throw new Error(`The codec server token must be at least ${MIN_TOKEN_CHARS} characters (e.g. 'openssl rand -hex 32')`);
  }
  const log = opts.logger ?? pino({ base: { component: 'codec-server' } }, pino.destination(2));
  const origins = new Set(opts.allowedOrigins ?? DEFAULT_UI_ORIGINS);
  const maxBodyBytes = opts.maxBodyBytes ?? 4 * 1024 * 1024;
  const authorized = opts.auth === 'none' ? () => true : bearerMatcher(opts.auth.token);

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<{ namespace?: string; count?: number }> {
    if (!LOOPBACK_HOST.test(req.headers.host ?? '')) throw new HttpError(403, 'The Host header must name a loopback address');
    const origin = req.headers.origin;
    if (origin !== undefined && !origins.has(origin)) throw new HttpError(403, `Origin ${origin} is not allowed to call this codec server`);
    if (origin) {
      res.setHeader('access-control-allow-origin', origin);
      // The Web UI's "include cross-origin credentials" option needs this to read answers.
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('vary', 'Origin');
    }
    const route = ROUTE.exec(path)?.[1] as 'encode' | 'decode' | undefined;
    if (!route) throw new HttpError(404, `No route for ${path}; use POST /encode or POST /decode`);
    if (req.method === 'OPTIONS') {
      // A preflight never carries credentials; the request it announces will have to.
      res.writeHead(204, {
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers': 'authorization, content-type, x-namespace',
        'access-control-max-age': '600',
      });
      res.end();
      return {};
    }
    if (req.method !== 'POST') throw new HttpError(405, `Use POST ${path}`, { allow: 'POST, OPTIONS' });
    if (!authorized(req.headers.authorization)) {
      throw new HttpError(401, 'Authorization: Bearer <LLMOPS_CODEC_SERVER_TOKEN> is required', { 'www-authenticate': 'Bearer realm="codec-server"' });
    }
    const namespace = (req.headers['x-namespace'] as string | undefined) ?? path.split('/').at(-2) ?? undefined;
    const payloads = parsePayloads(await readBody(req, maxBodyBytes));
    let out: Payload[];
    try {
      out = route === 'encode' ? await opts.codec.encode(payloads) : await opts.codec.decode(payloads);
    } catch (err) {
      // The codec's own messages name payload indexes and key ids only.
      throw new HttpError(400, `Cannot ${route}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const text = JSON.stringify({ payloads: out.map(payloadToJSON) });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
    return { namespace: namespace || undefined, count: payloads.length };
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    handle(req, res, path).then(
      (info) => log.info({ method: req.method, path, status: res.statusCode, ...info }, 'request'),
      (err: unknown) => {
        const httpErr = err instanceof HttpError ? err : new HttpError(500, 'Internal error');
        if (!(err instanceof HttpError)) log.error({ err: err instanceof Error ? err.message : String(err) }, 'unhandled error');
        log.info({ method: req.method, path, status: httpErr.status, origin: req.headers.origin }, 'request refused');
        if (res.headersSent) return void res.destroy();
        req.resume();
        const text = JSON.stringify({ error: httpErr.message });
        res.writeHead(httpErr.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...httpErr.headers });
        res.end(text);
      },
    );
  });
  // Slow or idle callers must not hold connections open.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.maxConnections = 64;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  log.info({ url, origins: [...origins], auth: opts.auth === 'none' ? 'none' : 'bearer' }, 'codec server listening');
  return {
    url,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Server options from LLMOPS_CODEC_SERVER_TOKEN / _AUTH / _ORIGINS; errors name the variable. */
export function codecServerAuthFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<CodecServerOptions, 'auth' | 'allowedOrigins'> {
  const { LLMOPS_CODEC_SERVER_TOKEN: token, LLMOPS_CODEC_SERVER_AUTH: mode, LLMOPS_CODEC_SERVER_ORIGINS: origins } = codecServerConfig.read(env);
  if (mode === 'none' && token) throw new Error('LLMOPS_CODEC_SERVER_AUTH=none and LLMOPS_CODEC_SERVER_TOKEN are both set: unset one');
  if (mode !== 'none' && !token) {
    throw new Error(
      'Set LLMOPS_CODEC_SERVER_TOKEN (callers send Authorization: Bearer <token>), or LLMOPS_CODEC_SERVER_AUTH=none for a local Web UI that has no login',
    );
  }
  if (token && token.length < MIN_TOKEN_CHARS) throw new Error(`LLMOPS_CODEC_SERVER_TOKEN must be at least ${MIN_TOKEN_CHARS} characters`);
  for (const o of origins ?? []) {
    if (!/^https?:\/\/[^/\s]+$/.test(o))
      throw new Error(`LLMOPS_CODEC_SERVER_ORIGINS: '${o}' is not an origin like http://localhost:8233 (scheme, host, port; no path)`);
  }
  return { auth: token ? { token } : 'none', allowedOrigins: origins?.length ? origins : undefined };
}

async function main(): Promise<void> {
  const { Command } = await import('commander');
  const { loadCodecKeyring } = await import('../common/codec-keys.js');
  const { AesGcmPayloadCodec } = await import('../common/payload-codec.js');
  const { integerOption } = await import('./integer-option.js');
  const int = integerOption(0);
  const o = new Command('codec-server')
    .description('Temporal codec server for the AES-GCM payload codec (keys: LLMOPS_CODEC_KEYS or LLMOPS_CODEC_KEYS_FILE), on 127.0.0.1')
    .option('--port <n>', 'port (0 picks a free one)', int, codecServerConfig.read().LLMOPS_CODEC_SERVER_PORT)
    .option('--max-body-bytes <n>', 'largest request body', int, 4 * 1024 * 1024)
    .parse()
    .opts<{ port: number; maxBodyBytes: number }>();
  const keyring = loadCodecKeyring();
  if (!keyring) throw new Error('No codec key configured: set LLMOPS_CODEC_KEYS or LLMOPS_CODEC_KEYS_FILE (the same keys the workers use)');
  const server = await startCodecServer({ codec: new AesGcmPayloadCodec(keyring), port: o.port, maxBodyBytes: o.maxBodyBytes, ...codecServerAuthFromEnv() });
  console.log(server.url);
  const stop = () => server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
