// Killing the control worker at every step of a workflow, for the chaos test and
// bench/recovery.ts: a real Temporal dev server, the local cloud (moto and real model processes)
// in this process, and the worker as a separate process (workers/control.ts run by tsx), which
// is SIGKILLed whenever the workflow's `progress` query names the next step to hit, then
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
import { localAwsEnvironment } from '../../clients/embedded-stack';
import { projectRoot } from '../../common/project-paths';
import { startProcess, waitUntil, type ManagedProcess } from '../../dev/processes';
import { startLocalCloud, type LocalCloud } from '../../local/server';
import type { Progress } from '../../workflows/progress';
import { devServerEnv, workflowsPath } from '../support/temporal';

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

/** The steps of a deploy and of a teardown (progress step names, matched as prefixes). */
export const DEPLOY_STEPS = ['ensureExecutionRole', 'createModel', 'createEndpointConfig', 'createOrUpdateEndpoint', 'waitForInService', 'registerAutoscaling', 'smokeTest'];
export const TEARDOWN_STEPS = ['findResources', 'findScalableTargets', 'deregisterAutoscaling', 'deleteEndpoint', 'waitForDeleted', 'deleteEndpointConfig', 'deleteModel'];

const TSX = join(projectRoot, 'node_modules', '.bin', 'tsx');

export async function startChaosStack(): Promise<ChaosStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'llmops-chaos-'));
  const [env, cloud, bundle] = await Promise.all([devServerEnv(), startLocalCloud({ port: 0, stateDir }), bundleWorkflowCode({ workflowsPath, logger: quiet })]);
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
      let ready = false;
      const worker = startProcess(TSX, ['workers/control.ts'], {
        cwd: projectRoot,
        env: { ...process.env, ...localAwsEnvironment(proxy.url), TEMPORAL_ADDRESS: env.address, LLMOPS_LOG_LEVEL: 'info', LLMOPS_WORKFLOW_BUNDLE: bundlePath },
        logFile: join(stateDir, `worker-${++started}.log`),
        onOutput: (chunk) => (ready ||= chunk.includes('control worker started')),
      });
      workers.add(worker);
      void worker.exited.then(() => workers.delete(worker));
      await waitUntil('control worker', async () => ready, { timeoutMs: 120_000, process: worker });
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

async function closed(handle: WorkflowHandle): Promise<boolean> {
  return (await handle.describe()).status.name !== 'RUNNING';
}

/**
 * Runs `handle`'s workflow to its end on worker processes, killing the worker once at each of
 * `steps` (matched as a prefix of the progress query's step name), in order.
 */
export async function killAtEachStep(stack: ChaosStack, handle: WorkflowHandle, steps: string[], worker: ManagedProcess): Promise<{ records: StepRecovery[]; worker: ManagedProcess }> {
  const records: StepRecovery[] = [];
  for (const step of steps) {
    const at = (p: Progress) => p.step.startsWith(step) && p.steps.at(-1)?.name.startsWith(step) && p.steps.at(-1)?.outcome === undefined;
    let hit = false;
    for (;;) {
      if (await closed(handle)) break;
      const p = await handle.query<Progress>('progress');
      if (at(p)) {
        hit = true;
        break;
      }
      if (p.steps.some((s) => s.name.startsWith(step) && s.outcome !== undefined)) break;
      await sleep(15);
    }
    if (!hit) {
      records.push({ step, missed: true });
      continue;
    }
    worker.child.kill('SIGKILL');
    await worker.exited;
    const killedAt = Date.now();
    const boot = stack.startWorker();
    let workerBootMs: number | undefined;
    void boot.then(() => (workerBootMs = Date.now() - killedAt));
    for (;;) {
      const desc = await handle.describe();
      if (desc.status.name !== 'RUNNING') break;
      // PENDING_ACTIVITY_STATE_STARTED (2), by an attempt that began after the kill.
      const running = (desc.raw.pendingActivities ?? []).some((a) => a.state === 2 && Number(a.lastStartedTime?.seconds ?? 0) * 1000 > killedAt);
      if (running && workerBootMs !== undefined) break;
      if (workerBootMs !== undefined) {
        const p = await handle.query<Progress>('progress').catch(() => undefined);
        if (p && !at(p)) break;
      }
      await sleep(50);
    }
    worker = await boot;
    records.push({ step, missed: false, recoveryMs: Date.now() - killedAt, workerBootMs });
  }
  return { records, worker };
}
