// Starting moto_server (local/moto.ts) when its port is taken between being picked and being
// bound, which happens when parallel tests or model containers start at the same moment: the
// start tries another port, and if every try is refused the error quotes moto's own words.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/processes.js';
import { startMoto } from '../../local/moto.js';
import { clientConfig } from './support.js';

let taken: Server;
let takenPort: number;
const dirs: string[] = [];
beforeAll(async () => {
  taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  takenPort = (taken.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => taken.close(r));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function logSink(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { lines, stream };
}

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'moto-start-'));
  dirs.push(dir);
  return dir;
}

describe('moto_server start', () => {
  it('tries another port when the one picked was taken before moto bound it', async () => {
    const ports = [takenPort];
    const sink = logSink();
    const moto = await startMoto({ stateDir: stateDir(), log: pino({ level: 'info' }, sink.stream), pickPort: async () => ports.shift() ?? freePort() });
    try {
      expect(moto.url).not.toContain(`:${takenPort}`);
      // It serves: S3 through moto directly.
      const s3 = new S3Client({ ...clientConfig(moto.url), forcePathStyle: true });
      expect((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).toEqual([]);
      expect(sink.lines.join('')).toContain('its port was taken before it bound; trying another');
    } finally {
      await moto.stop();
    }
  });

  it("gives up after three taken ports with moto's own words and its log file in the error", async () => {
    const dir = stateDir();
    let picks = 0;
    const err = await startMoto({ stateDir: dir, log: pino({ level: 'silent' }), pickPort: async () => (picks++, takenPort) }).then(
      async (moto) => (await moto.stop(), new Error('started on a taken port')),
      (e: unknown) => e as Error,
    );
    expect(err.message).toContain('moto_server: process exited before becoming ready');
    expect(err.message).toContain('Address already in use');
    expect(err.message).toContain(join(dir, 'moto.log'));
    expect(picks).toBe(3);
  });
});
