// A Qdrant server for tests, benches and `npm run demo -- --qdrant`: the one named by
// QDRANT_URL, else a server binary (QDRANT_BIN, else ../shared/bin/qdrant beside the clone
// when that optional folder exists) started here on free loopback ports with throw-away
// storage, else one already answering on localhost:6333. No package registry reachable from
// these machines ships the Qdrant server, so none of this is required: callers fall back to
// the embedded store or skip, and say how to get one (Docker, QDRANT_URL).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isQdrant, LOCAL_QDRANT_URL } from '../activities/vector-store/select.js';
import { freePort, PortTakenError, retryWhilePortTaken, startProcess, waitUntil, watchStartup } from './processes.js';
import { projectRoot } from '../common/project-paths.js';
import { devToolsConfig, vectorStoreConfig } from '../common/config.js';

/** How to get a Qdrant when none is found; printed by whoever skips or refuses. */
export const QDRANT_HOW_TO =
  'start one with `docker compose --profile rag up -d qdrant` and set QDRANT_URL=http://127.0.0.1:6333, ' +
  'or set QDRANT_BIN=/path/to/qdrant (a Qdrant server binary) to have one started on a free port';

export interface QdrantServer {
  url: string;
  /** Where it came from, for logs: "QDRANT_URL=…", "started /path/qdrant on …", "found on …". */
  how: string;
  /** Stops a server started here (by pid) and removes its storage; a no-op for one found. */
  stop(): Promise<void>;
}

/** QDRANT_BIN (which must exist), else ../shared/bin/qdrant when present, else undefined. */
export function qdrantBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const { QDRANT_BIN } = devToolsConfig.read(env);
  if (QDRANT_BIN) {
    if (!existsSync(QDRANT_BIN)) throw new Error(`QDRANT_BIN=${QDRANT_BIN} does not exist`);
    return QDRANT_BIN;
  }
  const beside = resolve(projectRoot, '..', 'shared', 'bin', 'qdrant');
  return existsSync(beside) ? beside : undefined;
}

/**
 * Starts the binary on 127.0.0.1 (REST and gRPC on free ports) with storage and snapshots in
 * a new temporary directory, and resolves once GET /readyz answers. The directory is removed
 * on stop(), and on process exit should the caller never get to stop it.
 */
export function startQdrantServer(bin: string, { logFile }: { logFile?: string } = {}): Promise<QdrantServer> {
  return retryWhilePortTaken(async () => {
    const http = await freePort();
    let grpc = await freePort();
    while (grpc === http) grpc = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'qdrant-'));
    // Our settings only: a QDRANT__* variable in the caller's environment (an API key, another
    // storage path) would silently change the server the tests think they started.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('QDRANT__')));
    const proc = startProcess(bin, [], {
      cwd: dir, // it reads ./config and serves ./static relative to its working directory
      logFile,
      env: {
        ...env,
        QDRANT__SERVICE__HOST: '127.0.0.1',
        QDRANT__SERVICE__HTTP_PORT: String(http),
        QDRANT__SERVICE__GRPC_PORT: String(grpc),
        QDRANT__STORAGE__STORAGE_PATH: join(dir, 'storage'),
        QDRANT__STORAGE__SNAPSHOTS_PATH: join(dir, 'snapshots'),
        QDRANT__TELEMETRY_DISABLED: 'true',
        QDRANT__LOG_LEVEL: 'WARN',
      },
    });
    // Qdrant logs to stdout; a panic's backtrace goes to stderr.
    const startup = watchStartup(proc, { maxLines: 20, streams: ['stdout', 'stderr'] });
    // Registered after startProcess's own exit hook (which kills the child first).
    const removeDir = () => rmSync(dir, { recursive: true, force: true });
    process.on('exit', removeDir);
    const stop = async () => {
      await proc.stop('SIGTERM', 10_000);
      removeDir();
      process.off('exit', removeDir);
    };
    const url = `http://127.0.0.1:${http}`;
    try {
      await waitUntil(
        `qdrant (${bin}) on ${url}`,
        async () => {
          const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
          await res.arrayBuffer();
          return res.ok;
        },
        { timeoutMs: 60_000, intervalMs: 100, process: proc },
      );
    } catch (err) {
      const failure = await startup.failed();
      await stop();
      const error = new Error(`${(err as Error).message}${failure.tail}`);
      // Either of its two ports may be the taken one; the REST port names the attempt.
      throw failure.portTaken ? new PortTakenError(http, error) : error;
    }
    return { url, how: `started ${bin} (pid ${proc.child.pid}) on ${url}`, stop };
  });
}

/** QDRANT_URL, else a binary started here, else localhost:6333 if Qdrant answers there. */
export async function findOrStartQdrant(opts: { logFile?: string; env?: NodeJS.ProcessEnv } = {}): Promise<QdrantServer | undefined> {
  const env = opts.env ?? process.env;
  const { QDRANT_URL } = vectorStoreConfig.read(env);
  if (QDRANT_URL) return { url: QDRANT_URL, how: `QDRANT_URL=${QDRANT_URL}`, stop: async () => {} };
  const bin = qdrantBinary(env);
  if (bin) return startQdrantServer(bin, { logFile: opts.logFile });
  if (await isQdrant(LOCAL_QDRANT_URL)) return { url: LOCAL_QDRANT_URL, how: `found on ${LOCAL_QDRANT_URL}`, stop: async () => {} };
  return undefined;
}
