// The whole system on one machine: a Temporal dev server (with its Web UI), the local cloud
// (our SageMaker emulator in front of moto), the control worker and the rag worker. `npm run demo` runs it in
// process; `npm run stack:up` runs it in a background process (clients/stack.ts).
import { TypedSearchAttributes } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { NativeConnection } from '@temporalio/worker';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { loadCodecKeyring } from '../common/codec-keys.js';
import { AesGcmPayloadCodec } from '../common/payload-codec.js';
import { SEARCH_ATTRIBUTES } from '../common/resource-names.js';
import { freePort, type ManagedProcess, PortTakenError, retryWhilePortTaken, startProcess, waitUntil, watchStartup } from '../dev/processes.js';
import { projectRoot } from '../common/project-paths.js';
import { localTemporalConnection } from '../common/temporal-connection.js';
import { findOrStartQdrant, QDRANT_HOW_TO } from '../dev/qdrant-server.js';
import { temporalCli } from '../dev/tools.js';
import { startLocalCloud, type LocalCloud } from '../local/server.js';
import { createControlWorker } from '../workers/control.js';
import { createRagWorker } from '../workers/rag.js';
import { installTemporalLogging, logger } from '../workers/logger.js';
import { startCodecServer } from './codec-server.js';
import { awsConfig } from '../common/config.js';

/**
 * SQLite's write-ahead log for the dev server: it spends about 20 ms of CPU per workflow run
 * instead of 33 here, and a run takes ~30 ms instead of ~55 (bench/overhead.ts's empty
 * workflow). NORMAL syncs at checkpoints, so a killed process loses nothing; only a power cut may
 * lose the last transactions, which a laptop's dev stack can afford. Benches that run a dev
 * server of their own use the same settings, so their figures compare with the stack's.
 */
export const DEV_SERVER_SQLITE_PRAGMAS = ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'];

export interface StackOptions {
  /** Temporal frontend port; default 7233 when free, else any free port. */
  temporalPort?: number;
  uiPort?: number;
  /** The local cloud's AWS endpoint port; default 4566 (LocalStack's) when free. */
  awsPort?: number;
  /** Where Temporal's database, the local cloud's state and all logs live. */
  stateDir?: string;
  /** Put the rag worker on Qdrant (QDRANT_URL, else a server binary started here, else localhost:6333); refuse when none. */
  qdrant?: boolean;
}

export interface StackAddresses {
  /**
   * When payload encryption is on (codec keys configured): the codec server the dev server's Web
   * UI decodes through. No token (the local Web UI cannot send one); loopback, Host and Origin
   * checks stay on, and only the UI's origin may call it.
   */
  codecServerUrl?: string;
  temporalAddress: string;
  webUiUrl: string;
  awsEndpointUrl: string;
  stateDir: string;
  logsDir: string;
}

export interface Stack extends StackAddresses {
  /** With `qdrant: true`: which Qdrant the rag worker uses. */
  qdrant?: { url: string; how: string };
  /** The Temporal dev server's process id (bench/overhead.ts reads its CPU time per run). */
  temporalPid?: number;
  stop(): Promise<void>;
}

/** True when nothing listens on `port` on loopback right now (it may be taken a moment later). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** On the first try `port` when it is free; on other tries, and for port 0, `fallback`'s. */
async function portFor(port: number, attempt: number, fallback: () => Promise<number> = freePort): Promise<number> {
  return attempt === 1 && port !== 0 && (await portIsFree(port)) ? port : fallback();
}

interface DevServer {
  temporalAddress: string;
  uiPort: number;
  connection: NativeConnection;
  codecServerUrl?: string;
  pid?: number;
  stop(): Promise<void>;
}

/**
 * The Temporal dev server (and, with codec keys, the codec server its Web UI decodes through,
 * which must know the UI's origin) on the ports given, once a connection to it is open. Refuses
 * with PortTakenError when either port was bound by another process first.
 */
async function startDevServer(stateDir: string, logsDir: string, temporalPort: number, uiPort: number): Promise<DevServer> {
  const keyring = loadCodecKeyring();
  const codec =
    keyring &&
    (await startCodecServer({
      codec: new AesGcmPayloadCodec(keyring),
      auth: 'none',
      allowedOrigins: [`http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`],
      logger,
    }));
  const temporal: ManagedProcess = startProcess(
    temporalCli(),
    [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(temporalPort),
      '--ui-port',
      String(uiPort),
      '--db-filename',
      join(stateDir, 'temporal.db'),
      ...DEV_SERVER_SQLITE_PRAGMAS,
      ...SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${TypedSearchAttributes.toMetadataType(key.type)}`]),
      '--log-level',
      'warn',
      // No internet here: don't let the UI try to fetch its news feed.
      '--ui-disable-news-fetch',
      ...(codec ? ['--ui-codec-endpoint', codec.url] : []),
    ],
    { logFile: join(logsDir, 'temporal.log') },
  );
  const startup = watchStartup(temporal);
  const temporalAddress = `127.0.0.1:${temporalPort}`;
  let connection: NativeConnection | undefined;
  try {
    await waitUntil(
      `Temporal dev server on ${temporalAddress}`,
      async () => {
        connection = await NativeConnection.connect({ address: temporalAddress });
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 250, process: temporal },
    );
  } catch (err) {
    const failure = await startup.failed();
    await codec?.close();
    const error = new Error(`${(err as Error).message}${failure.tail} (log: ${join(logsDir, 'temporal.log')})`, { cause: err });
    // The CLI names the port it could not bind ("can't set UI port 8233: …").
    const taken = [temporalPort, uiPort].find((port) => failure.lines.some((line) => line.includes(`port ${port}`))) ?? temporalPort;
    throw failure.portTaken ? new PortTakenError(taken, error) : error;
  }
  return {
    temporalAddress,
    uiPort,
    connection: connection!,
    codecServerUrl: codec?.url,
    pid: temporal.child.pid,
    async stop() {
      await connection!.close();
      await temporal.stop('SIGTERM', 10_000);
      await codec?.close();
    },
  };
}

/** The local cloud on `port` when free (0: any), else on a port the OS picks, which nothing can take first. */
function startCloudOnPort(port: number, stateDir: string): Promise<LocalCloud> {
  return retryWhilePortTaken(
    async (attempt) => {
      const tryPort = await portFor(port, attempt, async () => 0);
      return startLocalCloud({ port: tryPort, stateDir }).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'EADDRINUSE' ? new PortTakenError(tryPort, err) : err;
      });
    },
    { attempts: 2 },
  );
}

/** Environment the worker (and any AWS client in this process) uses to reach the local cloud. */
export function localAwsEnvironment(awsEndpointUrl: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: awsEndpointUrl,
    AWS_REGION: awsConfig.read().AWS_REGION ?? 'us-east-1',
    // Dummy credentials: the local cloud and moto accept any; never real ones here.
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  };
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  installTemporalLogging(); // before the first connection creates Temporal's runtime
  const stateDir = opts.stateDir ?? join(projectRoot, '.stack');
  const logsDir = join(stateDir, 'logs');
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((err) => logger.warn({ err }, 'stack shutdown step failed'));
  };

  try {
    const dev = await retryWhilePortTaken(
      async (attempt) => startDevServer(stateDir, logsDir, await portFor(opts.temporalPort ?? 7233, attempt), await portFor(opts.uiPort ?? 8233, attempt)),
      { onTaken: (taken) => logger.warn({ port: taken.port }, 'Temporal dev server: a port was taken before it bound; trying others') },
    );
    stops.push(() => dev.stop());
    const { temporalAddress, connection } = dev;

    const cloud = await startCloudOnPort(opts.awsPort ?? 4566, join(stateDir, 'local-cloud'));
    stops.push(() => cloud.close());

    Object.assign(process.env, localAwsEnvironment(cloud.url));
    // The workers belong to this dev server: no profile or TEMPORAL_NAMESPACE from the shell applies.
    const { namespace } = localTemporalConnection(temporalAddress);
    const worker: Worker = await createControlWorker({ connection, namespace });
    const running = worker.run();
    stops.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    });
    const qdrant = opts.qdrant ? await findOrStartQdrant({ logFile: join(logsDir, 'qdrant.log') }) : undefined;
    if (opts.qdrant && !qdrant) throw new Error(`--qdrant: no Qdrant server found; ${QDRANT_HOW_TO}`);
    if (qdrant) stops.push(() => qdrant.stop());
    const rag = await createRagWorker({
      connection,
      namespace,
      vectorStore: qdrant ? { backend: 'qdrant', qdrantUrl: qdrant.url } : { lanceDir: join(stateDir, 'vector-store') },
    });
    const ragRunning = rag.worker.run();
    stops.push(async () => {
      if (rag.worker.getState() === 'RUNNING') rag.worker.shutdown();
      await ragRunning;
      await rag.close();
    });

    return {
      temporalAddress,
      webUiUrl: `http://127.0.0.1:${dev.uiPort}`,
      awsEndpointUrl: cloud.url,
      stateDir,
      logsDir,
      codecServerUrl: dev.codecServerUrl,
      qdrant: qdrant && { url: qdrant.url, how: qdrant.how },
      temporalPid: dev.pid,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
