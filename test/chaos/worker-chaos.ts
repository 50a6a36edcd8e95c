// Killing the control worker at every step of a workflow, for the chaos test and
// bench/recovery.ts: a real Temporal dev server, the local cloud (moto and real model processes)
// in this process, and the worker as a separate process (workers/control.ts under tsx's loader), which
// is SIGKILLed whenever the server shows an activity of the next step to hit pending, then
// started again (from a workflow bundle built once, so a restart takes seconds). The worker
// reaches the local cloud through a proxy that delays each AWS call a little, so that even the
// quick steps last long enough for the query to catch them. For each step it records how long the workflow stood still: from the kill until
// an activity runs again on the new worker, the step finishes, or the run ends.
import { ApplicationAutoScalingClient, DescribeScalableTargetsCommand } from '@aws-sdk/client-application-auto-scaling';
import { ListEndpointConfigsCommand, ListEndpointsCommand, ListModelsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localAwsEnvironment } from '../../clients/embedded-stack.js';
import { projectRoot } from '../../common/project-paths.js';
import { CONTROL_TASK_QUEUE } from '../../common/task-queues.js';
import { startProcess, waitUntil, type ManagedProcess } from '../../dev/processes.js';
import { startLocalCloud, type LocalCloud } from '../../local/server.js';
import { devServerEnv, workflowsPath } from '../support/temporal.js';

/** How long the proxy holds each AWS call of the worker. */
const AWS_CALL_DELAY_MS = 1000;

/** A loopback HTTP proxy to `target` that waits `delayMs` before forwarding each request. */
async function delayingProxy(target: string, delayMs: number): Promise<{ url: string; server: Server }> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    setTimeout(() => {
      const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      out.on('error', () => res.destroy());
      req.pipe(out);
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

export interface StepRecovery {
  step: string;
  /** The step had already passed when the query saw it (too quick to hit). */
  missed: boolean;
  /** Kill → the workflow moves again (an activity started on the new worker, or the step or run ended). */
  recoveryMs?: number;
  /** Kill → the new worker process is polling (part of recoveryMs, not Temporal's doing). */
  workerBootMs?: number;
  /** For a missed step: the activities pending when it was found behind. */
  seen?: string;
}

export interface ChaosStack {
  env: TestWorkflowEnvironment;
  cloud: LocalCloud;
  sagemaker: SageMakerClient;
  autoscaling: ApplicationAutoScalingClient;
  /** What is left in the local cloud whose name starts with `prefix`. */
  leftovers(prefix: string): Promise<{ endpoints: string[]; configs: string[]; models: string[]; targets: string[] }>;
  /** Starts the control worker process; resolves once it polls. */
  startWorker(): Promise<ManagedProcess>;
  stop(): Promise<void>;
}

/** A step of a workflow (its progress name) and the activity types that run during it. */
export interface ChaosStep {
  step: string;
  activities: string[];
}

export const DEPLOY_STEPS: ChaosStep[] = [
  { step: 'ensureExecutionRole', activities: ['ensureExecutionRole'] },
  { step: 'createModel', activities: ['createModel'] },
  { step: 'createEndpointConfig', activities: ['createEndpointConfig'] },
  { step: 'createOrUpdateEndpoint', activities: ['describeEndpointStatus', 'createEndpoint'] },
  { step: 'waitForInService', activities: ['awaitEndpointInService'] },
  { step: 'registerAutoscaling', activities: ['registerAutoscaling'] },
  { step: 'smokeTest', activities: ['invokeEndpoint'] },
];
export const TEARDOWN_STEPS: ChaosStep[] = [
  { step: 'findResources', activities: ['findEndpointResources'] },
  { step: 'findScalableTargets', activities: ['findScalableTargets'] },
  { step: 'deregisterAutoscaling', activities: ['deregisterAutoscaling'] },
  { step: 'deleteEndpoint', activities: ['deleteEndpoint'] },
  { step: 'waitForDeleted', activities: ['awaitEndpointDeleted'] },
  { step: 'deleteEndpointConfig', activities: ['deleteEndpointConfig'] },
  { step: 'deleteModel', activities: ['deleteModel'] },
];

export async function startChaosStack(): Promise<ChaosStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'llmops-chaos-'));
  const [env, cloud, bundle] = await Promise.all([
    devServerEnv(),
    startLocalCloud({ port: 0, stateDir }),
    bundleWorkflowCode({ workflowsPath, logger: quiet }),
  ]);
  const bundlePath = join(stateDir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  const proxy = await delayingProxy(cloud.url, AWS_CALL_DELAY_MS);
  const aws = { region: 'us-east-1', endpoint: cloud.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const sagemaker = new SageMakerClient(aws);
  const autoscaling = new ApplicationAutoScalingClient(aws);
  const workers = new Set<ManagedProcess>();
  let started = 0;

  return {
    env,
    cloud,
    sagemaker,
    autoscaling,
    async leftovers(prefix) {
      const [e, c, m, t] = await Promise.all([
        sagemaker.send(new ListEndpointsCommand({ NameContains: prefix })),
        sagemaker.send(new ListEndpointConfigsCommand({ NameContains: prefix })),
        sagemaker.send(new ListModelsCommand({ NameContains: prefix })),
        autoscaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'sagemaker' })),
      ]);
      return {
        endpoints: (e.Endpoints ?? []).map((x) => `${x.EndpointName} (${x.EndpointStatus})`),
        configs: (c.EndpointConfigs ?? []).map((x) => x.EndpointConfigName!),
        models: (m.Models ?? []).map((x) => x.ModelName!),
        targets: (t.ScalableTargets ?? []).map((x) => x.ResourceId!).filter((id) => id.startsWith(`endpoint/${prefix}`)),
      };
    },
    async startWorker() {
      // Node itself with tsx's loader, not the tsx CLI: the CLI runs the script in a child
      // process, which a SIGKILL of the CLI would leave running.
      const worker = startProcess(process.execPath, ['--import', 'tsx', 'workers/control.ts'], {
        cwd: projectRoot,
        env: { ...process.env, ...localAwsEnvironment(proxy.url), TEMPORAL_ADDRESS: env.address, LLMOPS_WORKFLOW_BUNDLE: bundlePath },
        logFile: join(stateDir, `worker-${++started}.log`),
      });
      workers.add(worker);
      void worker.exited.then(() => workers.delete(worker));
      // Ready when the server has seen it poll for activities (its identity starts with its pid).
      const polling = async () => {
        const queue = await env.client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: CONTROL_TASK_QUEUE }, taskQueueType: 2 });
        return (queue.pollers ?? []).some((p) => p.identity?.startsWith(`${worker.child.pid}@`));
      };
      await waitUntil('control worker', polling, { timeoutMs: 120_000, intervalMs: 50, process: worker });
      return worker;
    },
    async stop() {
      for (const w of workers) await w.stop('SIGKILL');
      sagemaker.destroy();
      autoscaling.destroy();
      proxy.server.closeAllConnections();
      await new Promise((resolve) => proxy.server.close(resolve));
      await cloud.close();
      await env.teardown();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } as never;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Which of `steps` the workflow is in, by its pending activities (read from the server, not the worker). */
async function currentStep(
  handle: WorkflowHandle,
  steps: ChaosStep[],
): Promise<{ index: number; closed: boolean; pending: string; startedAfter: (ms: number) => boolean }> {
  const desc = await handle.describe();
  const pending = desc.raw.pendingActivities ?? [];
  const types = pending.map((a) => a.activityType?.name ?? '');
  return {
    pending: pending.map((a) => `${a.activityType?.name}:${a.state}:${a.attempt}`).join(','),
    closed: desc.status.name !== 'RUNNING',
    index: steps.findIndex((s) => s.activities.some((a) => types.includes(a))),
    // PENDING_ACTIVITY_STATE_STARTED (2), by an attempt that began after `ms`.
    startedAfter: (ms) => pending.some((a) => a.state === 2 && Number(a.lastStartedTime?.seconds ?? 0) * 1000 > ms),
  };
}

/**
 * Runs `handle`'s workflow to its end on worker processes, killing the worker once in each of
 * `steps`, in order, while one of the step's activities is pending (running on the worker or
 * waiting for its next attempt). A step already behind the workflow when its turn comes (one
 * quicker than a describe round trip) is recorded as missed.
 */
export async function killAtEachStep(
  stack: ChaosStack,
  handle: WorkflowHandle,
  steps: ChaosStep[],
  worker: ManagedProcess,
): Promise<{ records: StepRecovery[]; worker: ManagedProcess }> {
  const records: StepRecovery[] = [];
  for (const [i, { step }] of steps.entries()) {
    let hit = false;
    let seen = '';
    for (;;) {
      const now = await currentStep(handle, steps);
      seen = now.pending;
      if (now.closed || now.index > i) break;
      if (now.index === i) {
        hit = true;
        break;
      }
      await sleep(10);
    }
    if (!hit) {
      records.push({ step, missed: true, seen });
      continue;
    }
    worker.child.kill('SIGKILL');
    await worker.exited;
    const killedAt = Date.now();
    const boot = stack.startWorker();
    let workerBootMs: number | undefined;
    void boot.then(() => (workerBootMs = Date.now() - killedAt));
    for (;;) {
      const now = await currentStep(handle, steps);
      // Moving again: the run ended, an activity runs on the new worker, or a later step began.
      seen = now.pending;
      if (now.closed || (workerBootMs !== undefined && (now.startedAfter(killedAt) || now.index > i))) break;
      await sleep(25);
    }
    worker = await boot;
    records.push({ step, missed: false, recoveryMs: Date.now() - killedAt, workerBootMs, seen });
  }
  return { records, worker };
}
