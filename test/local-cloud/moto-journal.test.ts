// Durability of the moto journal (local/moto.ts) against a real moto_server: a torn last line
// (an append cut short by a crash) is dropped with a warning and the rest replays; a line that
// is damaged elsewhere stops the start with its line number; a failing append (full disk) fails
// that one request with a 5xx in the service's own error shape, and the server carries on.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startMoto, type JournalFs, type Moto } from '../../local/moto.js';
import { SAGEMAKER_TRUST_POLICY, clientConfig } from './support.js';

interface Running {
  moto: Moto;
  server: Server;
  url: string;
  logs: string[];
}

const running: Running[] = [];
const dirs: string[] = [];

/** moto behind a loopback server that only forwards, as the local cloud does for S3 and IAM. */
async function start(stateDir: string, journalFs?: JournalFs): Promise<Running> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const moto = await startMoto({ stateDir, log: pino({ level: 'info' }, sink), journalFs });
  const server = createServer((req, res) => moto.forward(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const r = { moto, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, logs };
  running.push(r);
  return r;
}

async function stop(r: Running): Promise<void> {
  running.splice(running.indexOf(r), 1);
  r.server.closeAllConnections();
  await new Promise((done) => r.server.close(done));
  await r.moto.stop();
}

const s3Of = (url: string) => new S3Client({ ...clientConfig(url), forcePathStyle: true });
const bucketsOf = async (url: string) => ((await s3Of(url).send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name).sort();

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'moto-journal-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const r of [...running]) await stop(r);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('moto journal', () => {
  it('drops a torn last line with a warning, replays the rest, and appends on a fresh line', async () => {
    const dir = stateDir();
    const journal = join(dir, 'moto-journal.jsonl');
    const first = await start(dir);
    await s3Of(first.url).send(new CreateBucketCommand({ Bucket: 'kept' }));
    await stop(first);
    const whole = readFileSync(journal, 'utf8');
    appendFileSync(journal, '{"method":"PUT","path":"/torn","hea'); // a crash mid-append

    const second = await start(dir);
    expect(await bucketsOf(second.url)).toEqual(['kept']);
    expect(second.logs.join('')).toMatch(/dropping the torn last line of the moto journal/);
    expect(readFileSync(journal, 'utf8')).toBe(whole);
    await s3Of(second.url).send(new CreateBucketCommand({ Bucket: 'after' }));
    await stop(second);

    const third = await start(dir);
    expect(await bucketsOf(third.url)).toEqual(['after', 'kept']);
    expect(third.logs.join('')).not.toMatch(/torn/);
  });

  it('refuses to start on a journal damaged before its last line, naming the line', async () => {
    const dir = stateDir();
    const journal = join(dir, 'moto-journal.jsonl');
    writeFileSync(journal, 'not json\n{"method":"PUT","path":"/b","headers":{},"body":""}\n');
    await expect(startMoto({ stateDir: dir, log: pino({ level: 'silent' }) })).rejects.toThrow(`${journal} line 1 is not a journal entry`);
    // Nothing was spawned, so there is no moto log either.
    expect(existsSync(join(dir, 'moto.log'))).toBe(false);
  });

  it('fails a change it cannot journal (full disk) with a 5xx in the service shape, and keeps serving', async () => {
    let diskFull = false;
    const journalFs: JournalFs = {
      appendFileSync(file, data) {
        if (diskFull) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        appendFileSync(file, data);
      },
      readFileSync: (file, enc) => readFileSync(file, enc),
      truncateSync: (file, length) => truncateSync(file, length),
      existsSync: (file) => existsSync(file),
      rmSync: (file, opts) => rmSync(file, opts),
    };
    const dir = stateDir();
    const r = await start(dir, journalFs);
    diskFull = true;
    // S3's REST-XML error shape, and IAM's Query shape: each SDK reads the code.
    await expect(s3Of(r.url).send(new CreateBucketCommand({ Bucket: 'unrecorded' }))).rejects.toMatchObject({
      name: 'InternalFailure',
      message: 'The local cloud could not record this change: ENOSPC',
      $metadata: { httpStatusCode: 500 },
    });
    const iam = new IAMClient(clientConfig(r.url));
    await expect(iam.send(new CreateRoleCommand({ RoleName: 'unrecorded', AssumeRolePolicyDocument: SAGEMAKER_TRUST_POLICY }))).rejects.toMatchObject({
      name: 'InternalFailure',
      $metadata: { httpStatusCode: 500 },
    });
    // Reads need no journal; once there is room again, changes are recorded again.
    await expect(bucketsOf(r.url)).resolves.toEqual(['unrecorded']);
    diskFull = false;
    await s3Of(r.url).send(new CreateBucketCommand({ Bucket: 'recorded' }));
    await stop(r);
    const again = await start(dir);
    expect(await bucketsOf(again.url)).toEqual(['recorded']);
  });
});
