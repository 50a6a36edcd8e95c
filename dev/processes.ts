// Child processes for servers we start ourselves (moto, Temporal, model containers, workers):
// free loopback ports, health waits with a deadline, and cleanup that cannot be forgotten.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface ManagedProcess {
  child: ChildProcess;
  /** Resolves once the process has exited (after stop() or by itself). */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test runner or CLI that dies must not leave model processes or moto listening.
  process.on('exit', () => {
    for (const p of live) {
      try {
        p.child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

export interface StartOptions extends Omit<SpawnOptions, 'stdio'> {
  /** Append stdout+stderr here; default: inherit nothing (ignored). */
  logFile?: string;
  /** Called with each chunk of output (stdout and stderr), e.g. to find a readiness line. */
  onOutput?: (chunk: string) => void;
}

export function startProcess(command: string, args: string[], opts: StartOptions = {}): ManagedProcess {
  installExitHook();
  const { logFile, onOutput, ...spawnOpts } = opts;
  const child = spawn(command, args, { ...spawnOpts, stdio: ['ignore', 'pipe', 'pipe'] });
  if (logFile) {
    mkdirSync(dirname(logFile), { recursive: true });
    const log = createWriteStream(logFile, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  }
  const forward = (chunk: Buffer) => onOutput?.(chunk.toString('utf8'));
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  if (!logFile && !onOutput) {
    child.stdout?.resume();
    child.stderr?.resume();
  }
  const exited = new Promise<number | null>((resolveExit) => {
    child.once('exit', (code) => resolveExit(code));
    child.once('error', () => resolveExit(null));
  });
  const managed: ManagedProcess = {
    child,
    exited,
    async stop(signal = 'SIGTERM', graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      live.delete(managed);
    },
  };
  live.add(managed);
  void exited.then(() => live.delete(managed));
  return managed;
}

/** What a server prints when another process bound its port first: Node, Werkzeug, Go, Rust. */
const ADDRESS_IN_USE = /EADDRINUSE|address already in use/i;

/** How a server's start went wrong, read once the process is stopped and its output closed. */
export interface FailedStart {
  /** It exited (or was killed) before we stopped it, rather than being stopped by us. */
  exitedByItself: boolean;
  /** Its exit code, else the signal that ended it. */
  exit: number | NodeJS.Signals | null;
  /** Its last non-empty output lines. */
  lines: string[];
  /** Those lines for an error message: `; last stderr: a | b` (`last output` when both streams are watched), or ''. */
  tail: string;
  /** It exited because its port was taken: worth another port (retryWhilePortTaken). */
  portTaken: boolean;
}

export interface StartupWatch {
  /** Stops the process if it still runs and says how its start ended. */
  failed(): Promise<FailedStart>;
}

/**
 * Keeps the last `maxLines` lines a starting server writes (stderr; both streams for servers
 * that log to stdout, like Qdrant), for the error should it die at start-up. Attach it right
 * after the spawn.
 */
export function watchStartup(
  proc: ManagedProcess,
  { maxLines = 8, streams = ['stderr'] }: { maxLines?: number; streams?: Array<'stdout' | 'stderr'> } = {},
): StartupWatch {
  const lines: string[] = [];
  for (const name of streams) {
    proc.child[name]?.on('data', (chunk: Buffer) => {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((line) => line.trim()),
      );
      lines.splice(0, Math.max(0, lines.length - maxLines));
    });
  }
  // 'exit' can come before the last bytes are read; 'close' comes after them.
  const closed = new Promise<void>((resolve) => proc.child.once('close', () => resolve()));
  return {
    async failed() {
      const exitedByItself = proc.child.exitCode !== null || proc.child.signalCode !== null;
      await proc.stop();
      if (exitedByItself) await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
      return {
        exitedByItself,
        exit: proc.child.exitCode ?? proc.child.signalCode,
        lines: [...lines],
        tail: lines.length ? `; last ${streams.length === 1 ? streams[0] : 'output'}: ${lines.join(' | ')}` : '',
        portTaken: exitedByItself && lines.some((line) => ADDRESS_IN_USE.test(line)),
      };
    },
  };
}

/** A start function's refusal that means "the port was taken": retryWhilePortTaken picks again. */
export class PortTakenError extends Error {
  constructor(
    readonly port: number,
    readonly startError: Error,
  ) {
    super(startError.message, { cause: startError });
  }
}

/**
 * Runs `start` (which picks its own ports) up to `attempts` times while it fails with
 * PortTakenError. A free port cannot be reserved: another process (a parallel test's server, a
 * model container) may bind it between the pick and the bind. The last attempt's refusal, and
 * any other error, is thrown as the start made it.
 */
export async function retryWhilePortTaken<T>(
  start: (attempt: number) => Promise<T>,
  { attempts = 3, onTaken }: { attempts?: number; onTaken?: (err: PortTakenError, attempt: number) => void } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(attempt);
    } catch (err) {
      if (!(err instanceof PortTakenError)) throw err;
      if (attempt >= attempts) throw err.startError;
      onTaken?.(err, attempt);
    }
  }
}

/**
 * Polls `check` until it returns true, the process dies, or the deadline passes.
 * The error names what was awaited so a failed start is diagnosable from the message.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  { timeoutMs = 30_000, intervalMs = 100, process: proc }: { timeoutMs?: number; intervalMs?: number; process?: ManagedProcess } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let died = false;
  void proc?.exited.then(() => (died = true));
  for (;;) {
    if (await check().catch(() => false)) return;
    if (died) throw new Error(`${what}: process exited before becoming ready`);
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** True when an HTTP GET answers with a status below 500. */
export async function httpReady(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status < 500;
}

/** True while a process with this pid exists (signal 0 checks without touching it). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
