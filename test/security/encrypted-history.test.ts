// Payload encryption end to end on a real Temporal dev server: a worker and a client with the
// codec run a workflow; a client without the codec then reads history and finds only
// `binary/encrypted` payloads and no plaintext; the `temporal` CLI, pointed at the codec server,
// shows the plaintext again (the protocol as Temporal's own tools speak it).
import { Client } from '@temporalio/client';
import { METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCodecServer, type CodecServer } from '../../clients/codec-server.js';
import { loadCodecKeyring } from '../../common/codec-keys.js';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA_KEY } from '../../common/payload-codec.js';
import { clientDataConverter, workerDataConverter } from '../../common/temporal-connection.js';
import { temporalCli } from '../../dev/tools.js';
import { devServerEnv } from '../support/temporal.js';
import type { encryptedEcho, EchoActivities } from './fixtures/echo-workflow.js';

const workflowsPath = fileURLToPath(new URL('./fixtures/echo-workflow.ts', import.meta.url));
const SECRET = 'confidential-prompt-7f3a: what did the board decide?';
const MEMO = 'memo-secret-91c2';
const TOKEN = randomBytes(24).toString('hex');
const keys = { LLMOPS_CODEC_KEYS: `k1:${randomBytes(32).toString('base64')}` };

let env: TestWorkflowEnvironment;
let codecServer: CodecServer;
beforeAll(async () => {
  env = await devServerEnv();
  codecServer = await startCodecServer({ codec: new AesGcmPayloadCodec(loadCodecKeyring(keys)!), auth: { token: TOKEN }, logger: pino({ level: 'warn' }) });
});
afterAll(async () => {
  await codecServer?.close();
  await env?.teardown();
});

const str = (b?: Uint8Array | null) => Buffer.from(b ?? []).toString('utf8');

/** Every `data` of the CLI's JSON history (proto3 JSON: base64), as text. */
function payloadTexts(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(payloadTexts);
  if (!node || typeof node !== 'object') return [];
  const { data, ...rest } = node as { data?: unknown };
  const own = typeof data === 'string' && 'metadata' in rest ? [Buffer.from(data, 'base64').toString('utf8')] : [];
  return [...own, ...Object.values(rest).flatMap(payloadTexts)];
}

// The project's own wiring (common/temporal-connection.ts), as workers/ and clients/ use it.
const echoWorker = (taskQueue: string) => {
  const activities: EchoActivities = {
    shout: async (text) => {
      if (text.startsWith('fail:')) throw new Error(`cannot shout ${text}`);
      return `${text.toUpperCase()}!`;
    },
  };
  return Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath, activities, dataConverter: workerDataConverter(keys) });
};

describe('encrypted Temporal history', () => {
  it('encrypts failure messages too, and the client still reads them', async () => {
    const taskQueue = 'encrypted-echo-failure';
    const worker = await echoWorker(taskQueue);
    const client = new Client({ connection: env.connection, dataConverter: clientDataConverter(keys) });
    const workflowId = `encrypted-echo-failure-${Date.now()}`;
    const secretFailure = `fail:${SECRET}`;
    const outcome = await worker.runUntil(
      client.workflow.execute<typeof encryptedEcho>('encryptedEcho', { taskQueue, workflowId, args: [{ text: secretFailure }] }).catch((err: Error) => err),
    );
    // The caller, holding the key, sees the activity's message in the cause chain.
    expect(outcome).toBeInstanceOf(Error);
    const causes: string[] = [];
    for (let e: any = outcome; e; e = e.cause) causes.push(String(e.message));
    expect(causes.join(' | ')).toContain(`cannot shout ${secretFailure}`);
    // History, read without the key, holds neither the input nor the failure text.
    const history = await new Client({ connection: env.connection }).workflow.getHandle(workflowId).fetchHistory();
    const raw = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
    expect(raw.includes(Buffer.from(SECRET))).toBe(false);
    expect(raw.includes(Buffer.from('cannot shout'))).toBe(false);
  });

  it('stores only ciphertext, and the CLI decodes it through the codec server', async () => {
    const taskQueue = 'encrypted-echo';
    const worker = await echoWorker(taskQueue);
    const client = new Client({ connection: env.connection, dataConverter: clientDataConverter(keys) });
    const workflowId = `encrypted-echo-${Date.now()}`;
    const result = await worker.runUntil(
      client.workflow.execute<typeof encryptedEcho>('encryptedEcho', { taskQueue, workflowId, args: [{ text: SECRET }], memo: { note: MEMO } }),
    );
    // With the codec, the caller sees plain values.
    expect(result).toEqual({ echoed: `${SECRET.toUpperCase()}!` });

    // Without it, history holds only encrypted payloads.
    const history = await new Client({ connection: env.connection }).workflow.getHandle(workflowId).fetchHistory();
    const events = history.events ?? [];
    const payloadsOf = (attrs: { input?: temporal.api.common.v1.IPayloads | null; result?: temporal.api.common.v1.IPayloads | null } | null | undefined) =>
      (attrs?.input ?? attrs?.result)?.payloads ?? [];
    const stored: Payload[] = [
      ...events.flatMap((e) => payloadsOf(e.workflowExecutionStartedEventAttributes)),
      ...events.flatMap((e) => payloadsOf(e.activityTaskScheduledEventAttributes)),
      ...events.flatMap((e) => payloadsOf(e.activityTaskCompletedEventAttributes)),
      ...events.flatMap((e) => payloadsOf(e.workflowExecutionCompletedEventAttributes)),
      ...events.flatMap((e) => Object.values(e.workflowExecutionStartedEventAttributes?.memo?.fields ?? {})),
    ];
    expect(stored).toHaveLength(5);
    for (const p of stored) {
      expect(str(p.metadata?.[METADATA_ENCODING_KEY])).toBe(ENCRYPTED_ENCODING);
      expect(str(p.metadata?.[KEY_ID_METADATA_KEY])).toBe('k1');
    }
    const raw = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
    for (const plain of [SECRET, SECRET.toUpperCase(), MEMO]) expect(raw.includes(Buffer.from(plain))).toBe(false);

    // The CLI shows ciphertext on its own, plaintext through the codec server.
    const show = (...extra: string[]) =>
      promisify(execFile)(temporalCli(), ['workflow', 'show', '--address', env.address, '--workflow-id', workflowId, '--output', 'json', ...extra], {
        maxBuffer: 16 * 1024 * 1024,
      }).then((r) => r.stdout);
    const encrypted = await show();
    expect(encrypted).toContain(Buffer.from(ENCRYPTED_ENCODING).toString('base64'));
    expect(payloadTexts(JSON.parse(encrypted)).join('\n')).not.toContain(SECRET);
    const decoded = payloadTexts(JSON.parse(await show('--codec-endpoint', codecServer.url, '--codec-auth', `Bearer ${TOKEN}`)));
    expect(decoded).toContain(JSON.stringify({ text: SECRET }));
    expect(decoded).toContain(JSON.stringify({ echoed: `${SECRET.toUpperCase()}!` }));
    expect(decoded).toContain(JSON.stringify(MEMO));
  });
});
