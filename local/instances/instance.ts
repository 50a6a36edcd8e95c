// One model process standing in for one ML instance: started on a free port, watched until
// /ping answers 200, and described in AWS's words when it does not.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { freePort, type ManagedProcess, PortTakenError, retryWhilePortTaken, watchStartup } from '../../dev/processes.js';
import { INSTANCE_ENV } from '../model-server/config.js';
import { startContainerProcess } from '../model-server/launch.js';
import { ContainerStartError, LaunchAbortedError } from './types.js';

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
  /** Cancels the start: the process (if spawned) is stopped, then startInstance rejects with LaunchAbortedError. */
  signal?: AbortSignal;
}

const PING_INTERVAL_MS = 100;

/** Like an EC2 instance id, so log streams read `<variant>/i-...` as in CloudWatch. */
export function newInstanceId(): string {
  return `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

export function pingFailureReason(variantName: string): string {
  return `The primary container for production variant ${variantName} did not pass the ping health check. Please check CloudWatch logs for this endpoint.`;
}

async function pingOk(url: string, signal: AbortSignal | undefined): Promise<boolean> {
  const timeout = AbortSignal.timeout(2000);
  const res = await fetch(`${url}/ping`, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
  await res.arrayBuffer();
  return res.status === 200;
}

class NotHealthyError extends Error {}

/** Polls /ping until it answers 200; throws when the process exits, the deadline passes or `signal` aborts. */
async function waitForPing(url: string, proc: ManagedProcess, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let died = false;
  void proc.exited.then(() => (died = true));
  for (;;) {
    signal?.throwIfAborted();
    if (await pingOk(url, signal).catch(() => false)) return;
    if (died) throw new NotHealthyError('exited');
    if (Date.now() > deadline) throw new NotHealthyError('timed out');
    await sleep(PING_INTERVAL_MS, undefined, { signal });
  }
}

function aborted(start: InstanceStart, instanceId: string): LaunchAbortedError {
  return new LaunchAbortedError(`The start of instance ${instanceId} of production variant ${start.variantName} was cancelled.`, {
    cause: start.signal?.reason,
  });
}

export async function startInstance(start: InstanceStart): Promise<RunningInstance> {
  const instanceId = newInstanceId();
  const logFile = join(start.logDir, start.endpointName, start.variantName, `${instanceId}.log`);
  return retryWhilePortTaken(() => startOnce(start, instanceId, logFile), {
    onTaken: (taken) => start.logger.warn({ instance: instanceId, port: taken.port }, 'model container: its port was taken before it bound; trying another'),
  });
}

async function startOnce(start: InstanceStart, instanceId: string, logFile: string): Promise<RunningInstance> {
  if (start.signal?.aborted) throw aborted(start, instanceId);
  const port = await freePort();
  if (start.signal?.aborted) throw aborted(start, instanceId);
  const url = `http://127.0.0.1:${port}`;
  const proc = startContainerProcess({ port, env: { ...start.env, [INSTANCE_ENV]: instanceId }, logFile });
  const startup = watchStartup(proc);
  const log = start.logger.child({ endpoint: start.endpointName, variant: start.variantName, instance: instanceId });
  log.info({ pid: proc.child.pid, port, logFile }, 'starting model container');
  try {
    await waitForPing(url, proc, start.healthCheckTimeoutSeconds * 1000, start.signal);
    // Healthy just as the start was cancelled: the process must not outlive the cancellation.
    start.signal?.throwIfAborted();
  } catch (err) {
    const failure = await startup.failed();
    if (start.signal?.aborted) {
      log.info({ pid: proc.child.pid }, 'model container start cancelled; process stopped');
      throw aborted(start, instanceId);
    }
    if (!(err instanceof NotHealthyError)) throw err;
    let detail: string;
    if (failure.exitedByItself) {
      detail = `instance ${instanceId} exited with code ${failure.exit} before /ping answered 200${failure.tail}`;
    } else {
      detail = `/ping of instance ${instanceId} did not answer 200 within ${start.healthCheckTimeoutSeconds} s`;
    }
    const error = new ContainerStartError(`${pingFailureReason(start.variantName)} (local cloud: ${detail}; log: ${logFile})`);
    log.warn({ reason: error.reason }, 'model container failed to start');
    throw failure.portTaken ? new PortTakenError(port, error) : error;
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
