// The codec server over real HTTP on loopback: the Temporal codec protocol (proto3 JSON
// payloads), CORS for the Web UI's origin only, the bearer token, Host and body-size checks, and
// no key material or plaintext in its logs.
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codecServerAuthFromEnv, startCodecServer, type CodecServer } from '../../clients/codec-server.js';
import { loadCodecKeyring } from '../../common/codec-keys.js';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING } from '../../common/payload-codec.js';

const KEY = randomBytes(32).toString('base64');
const TOKEN = randomBytes(24).toString('hex');
const SECRET = 'retrieved document: the vault code is 0451';
const UI = 'http://localhost:8233';
const codec = new AesGcmPayloadCodec(loadCodecKeyring({ LLMOPS_CODEC_KEYS: `k1:${KEY}` })!);

const logLines: string[] = [];
const logger = pino({ level: 'debug' }, new Writable({ write: (chunk, _enc, done) => done(void logLines.push(String(chunk))) }));

/** proto3 JSON, written out here rather than taken from the server under test. */
const payloadToJSON = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

let server: CodecServer;
let open: CodecServer;
beforeAll(async () => {
  server = await startCodecServer({ codec, auth: { token: TOKEN }, logger, maxBodyBytes: 64 * 1024 });
  open = await startCodecServer({ codec, auth: 'none', logger, allowedOrigins: ['http://127.0.0.1:9000'] });
});
afterAll(async () => {
  await server?.close();
  await open?.close();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http rather than fetch: fetch would not let a test set Host. */
function call(target: CodecServer, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: target.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };
const json = { 'content-type': 'application/json', 'x-namespace': 'default' };
const post = (target: CodecServer, path: string, payloads: unknown[], headers: Record<string, string> = auth) =>
  call(target, 'POST', path, { ...json, ...headers }, JSON.stringify({ payloads }));

describe('codec server', () => {
  it('decodes what the codec encrypted and encodes what the UI sends, in proto3 JSON', async () => {
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload({ doc: SECRET })]);
    const decoded = await post(server, '/decode', [payloadToJSON(encrypted)], { ...auth, origin: UI });
    expect(decoded.status).toBe(200);
    expect(decoded.headers['access-control-allow-origin']).toBe(UI);
    const [plain] = JSON.parse(decoded.body).payloads;
    expect(Buffer.from(plain.metadata.encoding, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(plain.data, 'base64').toString())).toEqual({ doc: SECRET });

    // The CLI's {namespace} templating puts the namespace in the path.
    const encoded = await post(server, '/default/encode', [plain]);
    expect(encoded.status).toBe(200);
    const [reEncrypted] = JSON.parse(encoded.body).payloads;
    expect(Buffer.from(reEncrypted.metadata[METADATA_ENCODING_KEY], 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    expect(encoded.body).not.toContain(plain.data);
    const [back] = await codec.decode([
      {
        metadata: { encoding: Buffer.from(reEncrypted.metadata.encoding, 'base64'), 'encryption-key-id': Buffer.from('k1') },
        data: Buffer.from(reEncrypted.data, 'base64'),
      },
    ]);
    expect(defaultPayloadConverter.fromPayload(back)).toEqual({ doc: SECRET });
  });

  it('approves a preflight from the Web UI origin without credentials, and refuses a foreign origin', async () => {
    const preflight = { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace,authorization' };
    for (const origin of ['http://localhost:8233', 'http://127.0.0.1:8233']) {
      const ok = await call(server, 'OPTIONS', '/decode', { ...preflight, origin });
      expect(ok.status).toBe(204);
      expect(ok.headers['access-control-allow-origin']).toBe(origin);
      expect(ok.headers['access-control-allow-methods']).toBe('POST');
      expect(String(ok.headers['access-control-allow-headers'])).toMatch(/authorization.*content-type.*x-namespace/);
    }
    const foreign = await call(server, 'OPTIONS', '/decode', { ...preflight, origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
    // A foreign page's request (even with a valid token) is refused before the codec runs.
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload(SECRET)]);
    const refused = await post(server, '/decode', [payloadToJSON(encrypted)], { ...auth, origin: 'http://evil.example' });
    expect(refused.status).toBe(403);
    expect(refused.body).not.toContain(Buffer.from(JSON.stringify(SECRET)).toString('base64'));
    // The configured list replaces the default.
    expect((await call(open, 'OPTIONS', '/decode', { ...preflight, origin: UI })).status).toBe(403);
    expect((await call(open, 'OPTIONS', '/decode', { ...preflight, origin: 'http://127.0.0.1:9000' })).status).toBe(204);
  });

  it('refuses a missing or wrong bearer token with 401', async () => {
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload(SECRET)]);
    for (const headers of [{}, { authorization: `Bearer ${TOKEN}x` }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }] as Record<
      string,
      string
    >[]) {
      const res = await post(server, '/decode', [payloadToJSON(encrypted)], headers);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(res.body).not.toContain(TOKEN);
    }
    // With auth explicitly off (local Web UI without login), no token is needed.
    expect((await post(open, '/decode', [payloadToJSON(encrypted)], {})).status).toBe(200);
  });

  it('refuses a non-loopback Host (DNS rebinding), oversized bodies, bad payloads and unknown routes', async () => {
    expect((await call(server, 'POST', '/decode', { ...json, ...auth, host: 'rebind.evil.example:8888' }, '{"payloads":[]}')).status).toBe(403);
    const big = await call(server, 'POST', '/decode', { ...json, ...auth }, JSON.stringify({ payloads: [{ data: 'A'.repeat(70 * 1024) }] }));
    expect(big.status).toBe(413);
    const notBase64 = await post(server, '/decode', [{ metadata: { encoding: 'binary/encrypted' }, data: '***' }]);
    expect(notBase64.status).toBe(400);
    expect(JSON.parse(notBase64.body).error).toMatch(/payloads\[0\] is not a Temporal payload/);
    expect((await call(server, 'POST', '/decode', { ...json, ...auth }, '{"payload": 1}')).status).toBe(400);
    expect((await call(server, 'GET', '/decode', auth)).status).toBe(405);
    expect((await post(server, '/a/b/decode', [])).status).toBe(404);
  });

  it('answers an undecryptable payload with 400 naming the key id, and logs no key, token or plaintext', async () => {
    const other = new AesGcmPayloadCodec(loadCodecKeyring({ LLMOPS_CODEC_KEYS: `k0:${randomBytes(32).toString('base64')}` })!);
    const [foreign] = await other.encode([defaultPayloadConverter.toPayload(SECRET)]);
    const res = await post(server, '/decode', [payloadToJSON(foreign)]);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error).toMatch(/key id 'k0'.*holds: k1/);
    const logs = logLines.join('');
    expect(logs).toContain('"path":"/decode"');
    for (const secret of [KEY, TOKEN, SECRET, Buffer.from(JSON.stringify({ doc: SECRET })).toString('base64')]) expect(logs).not.toContain(secret);
  });

  it('takes its auth from the environment, refusing to start open unless told to', () => {
    expect(codecServerAuthFromEnv({ LLMOPS_CODEC_SERVER_TOKEN: TOKEN })).toEqual({ auth: { token: TOKEN }, allowedOrigins: undefined });
    expect(codecServerAuthFromEnv({ LLMOPS_CODEC_SERVER_AUTH: 'none', LLMOPS_CODEC_SERVER_ORIGINS: 'http://a:1, http://b:2' })).toEqual({
      auth: 'none',
      allowedOrigins: ['http://a:1', 'http://b:2'],
    });
    expect(() => codecServerAuthFromEnv({})).toThrow(/Set LLMOPS_CODEC_SERVER_TOKEN .* or LLMOPS_CODEC_SERVER_AUTH=none/);
    expect(() => codecServerAuthFromEnv({ LLMOPS_CODEC_SERVER_TOKEN: 'short' })).toThrow(/LLMOPS_CODEC_SERVER_TOKEN must be at least 16 characters/);
    expect(() => codecServerAuthFromEnv({ LLMOPS_CODEC_SERVER_TOKEN: TOKEN, LLMOPS_CODEC_SERVER_AUTH: 'none' })).toThrow(/both set/);
    expect(() => codecServerAuthFromEnv({ LLMOPS_CODEC_SERVER_TOKEN: TOKEN, LLMOPS_CODEC_SERVER_ORIGINS: 'http://ui:8233/path' })).toThrow(
      /LLMOPS_CODEC_SERVER_ORIGINS: 'http:\/\/ui:8233\/path' is not an origin/,
    );
  });
});
