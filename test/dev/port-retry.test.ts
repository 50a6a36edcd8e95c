// Servers we start pick a free port first and bind it later; another process can bind it in
// between (parallel servers, model containers). dev/processes.ts tells that failure apart by
// what the server itself says, and retryWhilePortTaken tries other ports only then.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PortTakenError, retryWhilePortTaken, startProcess, waitUntil, watchStartup } from '../../dev/processes.js';
import { temporalCli } from '../../dev/tools.js';
import { startContainerProcess } from '../../local/model-server/launch.js';
import { TINY_MODEL_ID } from '../local-cloud/support.js';
import { startLocalCloud } from '../../local/server.js';

let taken: Server;
let takenPort: number;
beforeAll(async () => {
  taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  takenPort = (taken.address() as AddressInfo).port;
});
afterAll(() => new Promise((r) => taken.close(r)));

/** Command lines of this test process's children that are still running. */
function children(): string[] {
  return execFileSync('ps', ['--ppid', String(process.pid), '-o', 'args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.trim() && !line.startsWith('ps '));
}

describe('retryWhilePortTaken', () => {
  it('starts again only while the start says its port was taken, and reports each taken port', async () => {
    const seen: number[] = [];
    const result = await retryWhilePortTaken(
      async (attempt) => {
        if (attempt < 3) throw new PortTakenError(1000 + attempt, new Error(`port ${1000 + attempt} taken`));
        return `started on try ${attempt}`;
      },
      { onTaken: (err) => seen.push(err.port) },
    );
    expect(result).toBe('started on try 3');
    expect(seen).toEqual([1001, 1002]);
  });

  it("gives up after the last try with that start's own error, not the wrapper", async () => {
    let tries = 0;
    const own = new Error('the third port was taken as well');
    const err = await retryWhilePortTaken(async () => {
      tries++;
      throw new PortTakenError(1, tries === 3 ? own : new Error('taken'));
    }).catch((e: unknown) => e);
    expect(err).toBe(own);
    expect(tries).toBe(3);
  });

  it('does not retry any other failure', async () => {
    let tries = 0;
    const err = await retryWhilePortTaken(async () => {
      tries++;
      throw new Error('bad configuration');
    }).catch((e: unknown) => e as Error);
    expect(err.message).toBe('bad configuration');
    expect(tries).toBe(1);
  });
});

describe('watchStartup with the Temporal dev server', () => {
  async function devServer(args: string[]) {
    const proc = startProcess(temporalCli(), ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', ...args]);
    const startup = watchStartup(proc);
    const waited = await waitUntil('dev server', async () => false, { process: proc, timeoutMs: 30_000 }).catch((e: Error) => e);
    return { waited, failure: await startup.failed() };
  }

  it("tells a taken port from its own words ('bind: address already in use')", async () => {
    const { waited, failure } = await devServer(['--port', String(takenPort)]);
    expect(waited).toBeInstanceOf(Error);
    expect(failure.exitedByItself).toBe(true);
    expect(failure.portTaken).toBe(true);
    expect(failure.lines.join('\n')).toMatch(new RegExp(`${takenPort}.*address already in use`));
  });

  it('does not call any other failed start a taken port', async () => {
    const { failure } = await devServer(['--port', '0', '--log-level', 'no-such-level']);
    expect(failure.exitedByItself).toBe(true);
    expect(failure.portTaken).toBe(false);
    expect(failure.lines.length).toBeGreaterThan(0);
  });
});

describe('watchStartup with a model container', () => {
  it("tells a taken port from Node's EADDRINUSE", async () => {
    const proc = startContainerProcess({ port: takenPort, env: { HF_MODEL_ID: TINY_MODEL_ID } });
    const startup = watchStartup(proc);
    await proc.exited;
    const failure = await startup.failed();
    expect(failure.portTaken, failure.lines.join('\n')).toBe(true);
    expect(failure.lines.join('\n')).toContain('EADDRINUSE');
  });
});

describe('the local cloud on a taken port', () => {
  it('refuses with EADDRINUSE and leaves no moto_server running', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'port-retry-'));
    const err = await startLocalCloud({ port: takenPort, stateDir })
      .then(
        async (cloud): Promise<NodeJS.ErrnoException> => (await cloud.close(), new Error('listened on a taken port')),
        (e: unknown) => e as NodeJS.ErrnoException,
      )
      .finally(() => rmSync(stateDir, { recursive: true, force: true }));
    expect(err.code).toBe('EADDRINUSE');
    expect(children().filter((line) => line.includes('moto_server'))).toEqual([]);
  });
});
