// The container pool with real model processes: launching fleets, failing them in AWS's words,
// routing across instances and variants, and leaving no process behind.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { modelsDirs } from '../../common/project-paths.js';
import { ContainerPool } from '../../local/instances/pool.js';
import { ContainerStartError, LaunchAbortedError, type Fleet, type VariantLaunch } from '../../local/instances/types.js';
import { NEVER_READY_ENV, testProcessEnvironment } from './support.js';
import { isRunning } from '../../dev/processes.js';

const TGI_IMAGE = '763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04';
const logDir = mkdtempSync(join(tmpdir(), 'pool-test-'));
const pool = new ContainerPool({ modelsDirs: modelsDirs(), logDir, threads: 1, logger: pino({ level: 'warn' }) });

function variant(overrides: Partial<VariantLaunch> = {}): VariantLaunch {
  return {
    variantName: 'AllTraffic',
    image: TGI_IMAGE,
    environment: { HF_MODEL_ID: 'ggml-org/tiny-llamas', MAX_TOTAL_TOKENS: '256' },
    instanceCount: 1,
    healthCheckTimeoutSeconds: 60,
    weight: 1,
    ...overrides,
  };
}

/** Model processes this test process has started and that are still running. */
function runningContainers(): number {
  const out = execFileSync('ps', ['-o', 'args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes('local/model-server/main.ts')).length;
}

const pids = (fleet: Fleet) => fleet.variants.flatMap((v) => v.instances.map((i) => i.pid));

async function servedBy(url: string): Promise<number> {
  const res = await fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ inputs: 'Once upon a time', parameters: { max_new_tokens: 3 } }),
  });
  expect(res.status).toBe(200);
  await res.json();
  return Number(res.headers.get('x-local-pid'));
}

async function launchFailure(endpoint: string, variants: VariantLaunch[]): Promise<ContainerStartError> {
  const err = await pool.launch(endpoint, variants).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ContainerStartError);
  return err as ContainerStartError;
}

afterAll(async () => {
  await pool.stopAll();
  rmSync(logDir, { recursive: true, force: true });
});

describe('ContainerPool', () => {
  it('launches one process per instance and round-robins between them', async () => {
    const fleet = await pool.launch('rr', [variant({ instanceCount: 2 })]);
    expect(fleet.variants).toHaveLength(1);
    const [a, b] = fleet.variants[0].instances;
    expect(a.pid).not.toBe(b.pid);
    expect(pool.pick('rr')).toBeUndefined(); // not serving until activated
    await pool.activate('rr', fleet);

    const picks = Array.from({ length: 4 }, () => pool.pick('rr')!);
    expect(picks.map((p) => p.variantName)).toEqual(Array(4).fill('AllTraffic'));
    expect(picks[0].url).not.toBe(picks[1].url);
    expect(picks[2].url).toBe(picks[0].url);
    expect(picks[3].url).toBe(picks[1].url);
    const served = await Promise.all(picks.slice(0, 2).map((p) => servedBy(p.url)));
    expect(new Set(served)).toEqual(new Set([a.pid, b.pid]));

    // CloudWatch-like log streams: <endpoint>/<variant>/<instance>.log
    expect(existsSync(join(logDir, 'rr', 'AllTraffic'))).toBe(true);
  });

  it('skips a process that died', async () => {
    const before = new Set(Array.from({ length: 2 }, () => pool.pick('rr')!.url));
    expect(before.size).toBe(2);
    const victim = [...before][0];
    const fleetPid = await servedBy(victim);
    process.kill(fleetPid, 'SIGKILL');
    await expect.poll(() => isRunning(fleetPid)).toBe(false);
    await expect.poll(() => Array.from({ length: 4 }, () => pool.pick('rr')!.url).every((u) => u !== victim)).toBe(true);
  });

  it('deactivate stops every process of the endpoint', async () => {
    const fleet = await pool.launch('gone', [variant()]);
    await pool.activate('gone', fleet);
    const fleetPids = pids(fleet);
    expect(fleetPids.every(isRunning)).toBe(true);
    await pool.deactivate('gone');
    expect(fleetPids.some(isRunning)).toBe(false);
    expect(pool.pick('gone')).toBeUndefined();
  });

  it('activating a new fleet replaces the old one (blue/green)', async () => {
    const blue = await pool.launch('bg', [variant()]);
    await pool.activate('bg', blue);
    const green = await pool.launch('bg', [variant({ variantName: 'Green' })]);
    expect(pids(blue).every(isRunning)).toBe(true); // both run until the switch
    await pool.activate('bg', green);
    expect(pids(blue).some(isRunning)).toBe(false);
    expect(pool.pick('bg')).toEqual({ variantName: 'Green', url: green.variants[0].instances[0].url });
    await expect(pool.activate('bg', blue)).rejects.toThrow(/stopped/);
  });

  it('routes by InitialVariantWeight and honours a target variant', async () => {
    const fleet = await pool.launch('weights', [variant({ variantName: 'Main', weight: 1 }), variant({ variantName: 'Shadow', weight: 0 })]);
    await pool.activate('weights', fleet);
    const chosen = new Set(Array.from({ length: 20 }, () => pool.pick('weights')!.variantName));
    expect(chosen).toEqual(new Set(['Main']));
    expect(pool.pick('weights', 'Shadow')!.variantName).toBe('Shadow');
    expect(pool.pick('weights', 'Nope')).toBeUndefined();
  });

  it('refuses an image it cannot stand in for, naming the images it can', async () => {
    const err = await launchFailure('bad-image', [variant({ image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/my-own-server:latest' })]);
    expect(err.reason).toContain('my-own-server');
    expect(err.reason).toContain('huggingface-pytorch-tgi-inference');
    expect(err.reason).toContain("'vllm'");
    expect(err.reason).toContain("'djl-inference'");
  });

  it('fails fast, before spawning, when the model is missing, naming HF_MODEL_ID and the directories', async () => {
    const err = await launchFailure('no-model', [variant({ environment: { HF_MODEL_ID: 'acme/not-here' } })]);
    expect(err.reason).toContain('HF_MODEL_ID=acme/not-here');
    for (const dir of modelsDirs()) expect(err.reason).toContain(dir);
    expect(existsSync(join(logDir, 'no-model'))).toBe(false);
  });

  it('fails with AWS’s health-check wording when /ping does not answer in time, and stops what it started', async () => {
    const before = runningContainers();
    const err = await launchFailure('slow', [variant({ instanceCount: 2, healthCheckTimeoutSeconds: 0 })]);
    expect(runningContainers()).toBe(before);
    expect(err.reason).toMatch(
      /^The primary container for production variant AllTraffic did not pass the ping health check\. Please check CloudWatch logs for this endpoint\./,
    );
    expect(err.reason).toContain('did not answer 200 within 0 s');
  });

  it('quotes the last stderr lines of a process that exits during start', async () => {
    const err = await launchFailure('crash', [
      variant({ environment: { HF_MODEL_ID: 'ggml-org/tiny-llamas', MAX_INPUT_LENGTH: '64', MAX_TOTAL_TOKENS: '32' } }),
    ]);
    expect(err.reason).toMatch(/^The primary container for production variant AllTraffic did not pass the ping health check/);
    expect(err.reason).toContain('exited with code 1');
    expect(err.reason).toContain('`max_input_tokens` must be < `max_total_tokens`');
  });

  it('stopAll leaves no model process running', async () => {
    const fleet = await pool.launch('leftover', [variant()]); // launched, never activated
    const all = [...pids(fleet)];
    await pool.stopAll();
    expect(all.some(isRunning)).toBe(false);
    expect(runningContainers()).toBe(0);
    expect(pool.pick('rr')).toBeUndefined();
  });
});

describe('ContainerPool cancellation', () => {
  // Its own pool, whose log tells which processes a launch started and when one is healthy.
  const events: { msg: string; pid?: number; variant?: string; instance?: string }[] = [];
  const watched = new ContainerPool({
    modelsDirs: modelsDirs(),
    logDir,
    threads: 1,
    processEnvironment: testProcessEnvironment,
    logger: pino({ level: 'info' }, { write: (line: string) => void events.push(JSON.parse(line)) }),
  });
  /** Pids of the processes started for `variantName` since `from` (an index into events). */
  const startedPids = (variantName: string, from: number) =>
    events.slice(from).flatMap((e) => (e.msg === 'starting model container' && e.variant === variantName ? [e.pid!] : []));
  const healthy = (variantName: string, from: number) => events.slice(from).some((e) => e.msg === 'model container healthy' && e.variant === variantName);
  const stuck = (overrides: Partial<VariantLaunch> = {}) =>
    variant({ environment: { ...variant().environment, ...NEVER_READY_ENV }, healthCheckTimeoutSeconds: 600, ...overrides });
  /** What `launching` settled to, or 'pending' if it did not within a bound far below any health check. */
  const outcome = (launching: Promise<Fleet>) =>
    Promise.race([
      launching.then(
        () => 'resolved',
        (err: unknown) => err,
      ),
      new Promise((r) => setTimeout(() => r('pending'), 30_000)),
    ]);

  afterAll(async () => {
    await watched.stopAll();
  });

  it('rejects a launch whose signal is already aborted, starting nothing', async () => {
    const from = events.length;
    const err = await watched.launch('pre-aborted', [variant()], { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LaunchAbortedError);
    expect(startedPids('AllTraffic', from)).toEqual([]);
  });

  it('abort during a launch stops every process it started and rejects promptly, not as a start failure', async () => {
    const from = events.length;
    const controller = new AbortController();
    const launching = watched.launch('aborted', [stuck({ instanceCount: 2 })], { signal: controller.signal });
    await expect.poll(() => startedPids('AllTraffic', from), { timeout: 30_000 }).toHaveLength(2);
    const pids = startedPids('AllTraffic', from);
    expect(pids.every(isRunning)).toBe(true);

    controller.abort();
    const err = await outcome(launching);
    expect(err).toBeInstanceOf(LaunchAbortedError);
    expect(err).not.toBeInstanceOf(ContainerStartError);
    expect((err as Error).name).toBe('AbortError');
    expect(pids.filter(isRunning)).toEqual([]);
  });

  it('stopAll during a launch leaves no survivor, healthy or still starting', async () => {
    const from = events.length;
    const launching = watched.launch('interrupted', [variant({ variantName: 'Ready' }), stuck({ variantName: 'Stuck' })]);
    // One instance has joined the fleet, the other will only become healthy if nothing stops it.
    await expect.poll(() => healthy('Ready', from), { timeout: 60_000 }).toBe(true);
    await expect.poll(() => startedPids('Stuck', from), { timeout: 30_000 }).toHaveLength(1);
    const pids = [...startedPids('Ready', from), ...startedPids('Stuck', from)];
    expect(pids).toHaveLength(2);

    await watched.stopAll();
    expect(pids.filter(isRunning)).toEqual([]);
    expect(await outcome(launching)).toBeInstanceOf(LaunchAbortedError);
    expect(pids.filter(isRunning)).toEqual([]);
    expect(watched.pick('interrupted')).toBeUndefined();
  });

  it('a launch that fails stops its other instances at once instead of waiting out their health checks', async () => {
    const from = events.length;
    const launching = watched.launch('half-broken', [
      stuck({ variantName: 'Stuck' }),
      variant({ variantName: 'Broken', environment: { HF_MODEL_ID: 'ggml-org/tiny-llamas', MAX_INPUT_LENGTH: '64', MAX_TOTAL_TOKENS: '32' } }),
    ]);
    const err = await outcome(launching);
    expect(err).toBeInstanceOf(ContainerStartError);
    expect((err as ContainerStartError).reason).toContain('production variant Broken');
    expect([...startedPids('Stuck', from), ...startedPids('Broken', from)].filter(isRunning)).toEqual([]);
  });
});
