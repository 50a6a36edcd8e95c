// Shared by the local-cloud suites: client settings for the local cloud, a pool wrapper that can
// hold launches (so transitional states are observed deterministically, not raced), and waits.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  DescribeEndpointCommand,
  DescribeTransformJobCommand,
  type DescribeEndpointOutput,
  type DescribeTransformJobResponse,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { join } from 'node:path';
import pino from 'pino';
import { waitUntil } from '../../dev/processes.js';
import { modelsDirs } from '../../common/project-paths.js';
import { ContainerPool } from '../../local/instances/pool.js';
import type { ContainerPoolApi, Fleet, LaunchOptions, VariantLaunch } from '../../local/instances/types.js';

/** An image URI of the TGI family, which the local cloud runs with node-llama-cpp. */
export const TGI_IMAGE = '763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4.0-tgi2.3.1-gpu-py311-cu124-ubuntu22.04';
/** The tiny GGUF in ../shared/models (see PROVENANCE.md there). */
export const TINY_MODEL_ID = 'ggml-org/tiny-llamas';

export const SAGEMAKER_TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

export function clientConfig(endpoint: string, region = 'us-east-1') {
  return { endpoint, region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 };
}

/** Environment for the aws CLI and boto3: dummy credentials, no user config leaking in. */
export function awsEnv(endpointUrl: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: endpointUrl,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
}

/**
 * Added to a model's environment, makes its processes start and keep running but never answer
 * /ping (see fixtures/never-ready.cjs): a launch that only a cancellation can end. A model may
 * not set NODE_OPTIONS itself (the local cloud refuses it), so the marker asks the test's pool
 * to preload the fixture: pass `testProcessEnvironment` as the pool's `processEnvironment`.
 */
export const NEVER_READY_ENV = { LOCAL_TEST_NEVER_READY: '1' };

export function testProcessEnvironment(launch: VariantLaunch): Record<string, string> {
  if (launch.environment.LOCAL_TEST_NEVER_READY !== '1') return {};
  return { NODE_OPTIONS: `--require "${fileURLToPath(new URL('./fixtures/never-ready.cjs', import.meta.url))}"` };
}

/** Pids of the model processes this test process has started and that are still running. */
export function modelProcessPids(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes('local/model-server/main.ts'))
    .map((line) => Number(line.trim().split(/\s+/, 1)[0]));
}

/** The real pool, plus a record of every fleet launched and a way to hold launches back. */
export class RecordingPool implements ContainerPoolApi {
  readonly fleets: { endpointName: string; fleet: Fleet }[] = [];
  /** Endpoints whose launch was cancelled (rejected with an AbortError), in order. */
  readonly cancelled: string[] = [];
  private gate: Promise<void> | undefined;

  constructor(private readonly inner: ContainerPoolApi) {}

  /** Launches started from now on wait until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise((r) => (release = r));
    return () => {
      this.gate = undefined;
      release();
    };
  }

  async launch(endpointName: string, variants: VariantLaunch[], opts?: LaunchOptions): Promise<Fleet> {
    // A held launch stays held even if aborted meanwhile, so states around it can be observed;
    // the inner launch then sees the aborted signal and rejects without starting anything.
    await this.gate;
    try {
      const fleet = await this.inner.launch(endpointName, variants, opts);
      this.fleets.push({ endpointName, fleet });
      return fleet;
    } catch (err) {
      if ((err as Error).name === 'AbortError') this.cancelled.push(endpointName);
      throw err;
    }
  }
  activate(endpointName: string, fleet: Fleet) {
    return this.inner.activate(endpointName, fleet);
  }
  shift(endpointName: string, fleet: Fleet | undefined, share: number) {
    this.inner.shift(endpointName, fleet, share);
  }
  deactivate(endpointName: string) {
    return this.inner.deactivate(endpointName);
  }
  pick(endpointName: string, targetVariant?: string) {
    return this.inner.pick(endpointName, targetVariant);
  }
  stopAll() {
    return this.inner.stopAll();
  }
}

export function pidsOf(fleet: Fleet): number[] {
  return fleet.variants.flatMap((v) => v.instances.map((i) => i.pid));
}

const TRANSITIONAL = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting']);

/** Polls DescribeEndpoint until the endpoint leaves its transitional states (or is gone). */
export async function settledEndpoint(sm: SageMakerClient, name: string): Promise<DescribeEndpointOutput | undefined> {
  let last: DescribeEndpointOutput | undefined;
  await waitUntil(
    `endpoint ${name} to settle`,
    async () => {
      try {
        last = await sm.send(new DescribeEndpointCommand({ EndpointName: name }));
      } catch (err) {
        if ((err as Error).name === 'ValidationException') {
          last = undefined;
          return true;
        }
        throw err;
      }
      return !TRANSITIONAL.has(last.EndpointStatus!);
    },
    { timeoutMs: 90_000, intervalMs: 200 },
  );
  return last;
}

const RUNNING_JOB = new Set(['InProgress', 'Stopping']);

/** Polls DescribeTransformJob until the job is Completed, Failed or Stopped; `seen` collects every status observed. */
export async function settledTransformJob(sm: SageMakerClient, name: string, seen: string[] = [], timeoutMs = 90_000): Promise<DescribeTransformJobResponse> {
  let last: DescribeTransformJobResponse | undefined;
  await waitUntil(
    `transform job ${name} to finish`,
    async () => {
      last = await sm.send(new DescribeTransformJobCommand({ TransformJobName: name }));
      if (seen.at(-1) !== last.TransformJobStatus) seen.push(last.TransformJobStatus!);
      return !RUNNING_JOB.has(last.TransformJobStatus!);
    },
    { timeoutMs, intervalMs: 100 },
  );
  return last!;
}

/** The real pool, recorded and gateable, logging to a file in the state dir to keep test output clean. */
export function recordingPool(stateDir: string): RecordingPool {
  const logger = pino({ level: 'info' }, pino.destination({ dest: join(stateDir, 'pool.log'), mkdir: true, sync: true, mode: 0o600 }));
  return new RecordingPool(new ContainerPool({ modelsDirs: modelsDirs(), logDir: join(stateDir, 'logs'), logger, processEnvironment: testProcessEnvironment }));
}
