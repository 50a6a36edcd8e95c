// One model process standing in for one ML instance: started on a free port, watched until
// /ping answers 200, and described in AWS's words when it does not.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { freePort, waitUntil, type ManagedProcess } from '../../dev/processes.js';
import { INSTANCE_ENV } from '../container/config.js';
import { startContainerProcess } from '../container/launch.js';
import { ContainerStartError } from './types.js';

export interface RunningInstance {
  instanceId: string;
  variantName: string;
  url: string;
  pid: number;
  logFile: string;
  process: ManagedProcess;
  /** False once the process has exited, for whatever reason. */
  alive: boolean;
}

export interface InstanceStart {
  endpointName: string;
  variantName: string;
  env: Record<string, string>;
  logDir: string;
  healthCheckTimeoutSeconds: number;
  logger: Logger;
}

const STDERR_TAIL_LINES = 8;
const PORT_ATTEMPTS = 3;
const PING_INTERVAL_MS = 100;

/** Like an EC2 instance id, so log streams read `<variant>/i-...` as in CloudWatch. */
function newInstanceId(): string {
  return `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

export function pingFailureReason(variantName: string): string {
  return `The primary container for production variant ${variantName} did not pass the ping health check. Please check CloudWatch logs for this endpoint.`;
}

async function pingOk(url: string): Promise<boolean> {
  const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status === 200;
}

export async function startInstance(start: InstanceStart): Promise<RunningInstance> {
  const instanceId = newInstanceId();
  const logFile = join(start.logDir, start.endpointName, start.variantName, `${instanceId}.log`);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(start, instanceId, logFile);
    } catch (err) {
      // freePort() cannot reserve the port; another process may take it before we bind.
      if (err instanceof PortTakenError && attempt < PORT_ATTEMPTS) continue;
      throw err instanceof PortTakenError ? err.startError : err;
    }
  }
}

class PortTakenError extends Error {
  constructor(readonly startError: ContainerStartError) {
    super(startError.reason);
  }
}

async function startOnce(start: InstanceStart, instanceId: string, logFile: string): Promise<RunningInstance> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = startContainerProcess({ port, env: { ...start.env, [INSTANCE_ENV]: instanceId }, logFile });
  const stderr: string[] = [];
  proc.child.stderr?.on('data', (chunk: Buffer) => {
    stderr.push(...chunk.toString('utf8').split('\n').filter((line) => line.trim()));
    stderr.splice(0, Math.max(0, stderr.length - STDERR_TAIL_LINES));
  });
  // 'exit' can come before the last stderr bytes are read; 'close' comes after them.
  const closed = new Promise<void>((resolve) => proc.child.once('close', () => resolve()));
  const log = start.logger.child({ endpoint: start.endpointName, variant: start.variantName, instance: instanceId });
  log.info({ pid: proc.child.pid, port, logFile }, 'starting model container');
  try {
    await waitUntil(`${start.variantName}/${instanceId}`, () => pingOk(url), {
      timeoutMs: start.healthCheckTimeoutSeconds * 1000,
      intervalMs: PING_INTERVAL_MS,
      process: proc,
    });
  } catch {
    const exitedByItself = proc.child.exitCode !== null || proc.child.signalCode !== null;
    await proc.stop();
    let detail: string;
    if (exitedByItself) {
      await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
      const lastLines = stderr.length > 0 ? `; last stderr: ${stderr.join(' | ')}` : '';
      detail = `instance ${instanceId} exited with code ${proc.child.exitCode ?? proc.child.signalCode} before /ping answered 200${lastLines}`;
    } else {
      detail = `/ping of instance ${instanceId} did not answer 200 within ${start.healthCheckTimeoutSeconds} s`;
    }
    const error = new ContainerStartError(`${pingFailureReason(start.variantName)} (local cloud: ${detail}; log: ${logFile})`);
    log.warn({ reason: error.reason }, 'model container failed to start');
    if (exitedByItself && stderr.some((line) => line.includes('EADDRINUSE'))) throw new PortTakenError(error);
    throw error;
  }
  const instance: RunningInstance = {
    instanceId,
    variantName: start.variantName,
    url,
    pid: proc.child.pid!,
    logFile,
    process: proc,
    alive: true,
  };
  void proc.exited.then((code) => {
    instance.alive = false;
    log.info({ code }, 'model container exited');
  });
  log.info('model container healthy');
  return instance;
}
