// The installed `llmops` command, spawned for real (bin/llmops.js, and once through npx) against a
// Temporal dev server reached through a TOML profile (TEMPORAL_CONFIG_FILE + --profile), the
// local cloud with moto, and a control worker that also finds Temporal through the profile.
// Checks the documented exit codes, --json output, list, cancel, watch and Ctrl-C detach.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployEndpointInput } from '../../common/endpoint-input.js';
import { projectRoot } from '../../common/project-paths.js';
import { freePort } from '../../dev/processes.js';
import { readExample } from '../../dev/tools.js';
import { startLocalCloud, type LocalCloud } from '../../local/server.js';
import { createControlWorker } from '../../workers/control.js';
import { devServerEnv } from '../support/temporal.js';

const PROFILE = 'cli-test';
// A queue no worker polls: runs started on it stay Running, for list, cancel and detach.
const IDLE_QUEUE = 'cli-test-idle';

let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let dir: string;
let profileFile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmops-cli-'));
  [env, cloud] = await Promise.all([devServerEnv(), startLocalCloud({ port: 0, stateDir: join(dir, 'cloud') })]);
  profileFile = join(dir, 'temporal.toml');
  writeFileSync(profileFile, `[profile.${PROFILE}]\naddress = "${env.address}"\nnamespace = "default"\n`);
});
afterAll(async () => {
  await cloud?.close();
  await env?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment a user's shell would have: the profile file, the local cloud, no TEMPORAL_ADDRESS. */
function cliEnv(): NodeJS.ProcessEnv {
  const { TEMPORAL_ADDRESS: _a, TEMPORAL_NAMESPACE: _n, TEMPORAL_PROFILE: _p, ...rest } = process.env;
  return {
    ...rest,
    TEMPORAL_CONFIG_FILE: profileFile,
    AWS_ENDPOINT_URL: cloud.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  };
}

function spawnCli(args: string[], { viaNpx = false, env: extra = {} }: { viaNpx?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const [cmd, argv] = viaNpx ? ['npx', ['llmops', ...args]] : [process.execPath, [join(projectRoot, 'bin', 'llmops.js'), ...args]];
  const child = spawn(cmd as string, argv as string[], { cwd: projectRoot, env: { ...cliEnv(), ...extra } });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const done = new Promise<Run>((resolve) => child.once('close', (code) => resolve({ code, ...out })));
  return { child, out, done };
}

const llmops = (args: string[], opts?: { viaNpx?: boolean; env?: NodeJS.ProcessEnv }) => spawnCli(['--profile', PROFILE, ...args], opts).done;

const writeJson = (name: string, value: unknown) => {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
};

describe('llmops without a worker', () => {
  it('exits 2 naming the field for bad input, before anything starts', async () => {
    const input = readExample<DeployEndpointInput>('deploy-local.json');
    const run = await llmops(['deploy', writeJson('bad.json', { ...input, endpointName: 'not_valid!' })]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Invalid deployEndpoint input: endpointName: must match/);
    const json = await llmops(['--json', 'deploy', join(dir, 'missing.json')]);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { exitCode: 2, reason: expect.stringMatching(/^input-file: cannot read/) } });
    expect((await llmops(['list', '--limit', '0'])).code).toBe(2);
    expect((await llmops(['--profile', 'no-such-profile', 'list'])).stderr).toMatch(/Profile 'no-such-profile' not found/);
  });

  it('exits 3 when Temporal is not at the address (--address wins over the profile)', async () => {
    const run = await llmops(['--address', `127.0.0.1:${await freePort()}`, '--json', 'list']);
    expect(run.code).toBe(3);
    expect(JSON.parse(run.stdout).error.reason).toMatch(/^Cannot reach Temporal at 127\.0\.0\.1:\d+/);
  });

  it('exits 3 when AWS (here the local cloud) is not at its endpoint', async () => {
    const run = await llmops(['invoke', 'demo', 'hi'], { env: { AWS_ENDPOINT_URL: `http://127.0.0.1:${await freePort()}` } });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/ECONNREFUSED/);
  });

  it('exits 4 when no worker polls the task queue, and starts nothing', async () => {
    const run = await llmops(['--worker-wait', '2', 'teardown', 'cli-nobody']);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain("No worker is polling task queue 'sagemaker-control' yet");
    expect(run.stderr).toMatch(/waited 2s and started nothing/);
    await expect(env.client.workflow.getHandle('teardown-cli-nobody').describe()).rejects.toThrow(/not found/i);
  });

  it('lists the runs of this project (through the profile, and through npx with no npm banner)', async () => {
    await env.client.workflow.start('deployEndpoint', { taskQueue: IDLE_QUEUE, workflowId: 'deploy-cli-idle', args: [{ endpointName: 'cli-idle' }] });
    const run = await llmops(['--json', 'list'], { viaNpx: true });
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout) as Array<{ type: string; workflowId: string; status: string }>;
    expect(rows).toContainEqual(expect.objectContaining({ type: 'deployEndpoint', workflowId: 'deploy-cli-idle', status: 'RUNNING' }));
    const human = await llmops(['list', '--type', 'deployEndpoint', '--status', 'running']);
    expect(human.stdout).toMatch(/^deployEndpoint\s+deploy-cli-idle\s+RUNNING/m);
  });

  it('Ctrl-C while watching detaches, prints how to re-attach, and leaves the run going', async () => {
    const { child, out, done } = spawnCli(['--profile', PROFILE, 'watch', 'deploy-cli-idle']);
    await expect.poll(() => out.stderr, { timeout: 30_000 }).toContain('[deployEndpoint deploy-cli-idle: RUNNING]');
    await expect.poll(() => out.stderr, { timeout: 30_000 }).toContain(`No worker is polling task queue '${IDLE_QUEUE}' now`);
    child.kill('SIGINT');
    const run = await done;
    expect(run.code).toBe(130);
    expect(run.stderr).toContain('Re-attach: npx llmops watch deploy-cli-idle');
    expect((await env.client.workflow.getHandle('deploy-cli-idle').describe()).status.name).toBe('RUNNING');
  });

  it('cancel requests cancellation of a run; an unknown id exits 2', async () => {
    const run = await llmops(['--json', 'cancel', 'deploy-cli-idle']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ workflowId: 'deploy-cli-idle', type: 'deployEndpoint', cancelRequested: true });
    const history = await env.client.workflow.getHandle('deploy-cli-idle').fetchHistory();
    expect(history.events?.some((e) => e.workflowExecutionCancelRequestedEventAttributes)).toBe(true);
    const unknown = await llmops(['cancel', 'deploy-cli-never-started']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/deploy-cli-never-started/);
  });
});

describe('llmops with a control worker that finds Temporal through the profile', () => {
  let worker: Worker;
  let running: Promise<void>;
  beforeAll(async () => {
    const saved = { file: process.env.TEMPORAL_CONFIG_FILE, profile: process.env.TEMPORAL_PROFILE, address: process.env.TEMPORAL_ADDRESS };
    Object.assign(process.env, { TEMPORAL_CONFIG_FILE: profileFile, TEMPORAL_PROFILE: PROFILE });
    delete process.env.TEMPORAL_ADDRESS;
    try {
      worker = await createControlWorker({ aws: { region: 'us-east-1', endpoint: cloud.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } });
    } finally {
      for (const [key, value] of [
        ['TEMPORAL_CONFIG_FILE', saved.file],
        ['TEMPORAL_PROFILE', saved.profile],
        ['TEMPORAL_ADDRESS', saved.address],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
    running = worker.run();
  });
  afterAll(async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
  });

  it('a failed deploy exits 1 with the AWS reason first, in text and in --json', async () => {
    const input = readExample<DeployEndpointInput>('deploy-local.json');
    const file = writeJson('missing-model.json', {
      ...input,
      endpointName: 'cli-missing',
      autoscaling: undefined,
      model: { ...input.model, hfModelId: 'nobody/no-such-model' },
    });
    const run = await llmops(['deploy', file]);
    expect(run.code).toBe(1);
    const errorLine = run.stderr.split('\n').find((l) => l.startsWith('Error: '));
    expect(errorLine).toMatch(/^Error: Deploy of endpoint cli-missing failed at step waitForInService: Endpoint cli-missing failed: .*nobody\/no-such-model/);
    expect(run.stdout).toBe('');
    // The same run again (it is closed): watch prints its failure the same way, as JSON.
    const watched = await llmops(['--json', 'watch', 'deploy-cli-missing']);
    expect(watched.code).toBe(1);
    const { error } = JSON.parse(watched.stdout) as { error: { exitCode: number; reason: string; chain: Array<{ what: string }> } };
    expect(error.exitCode).toBe(1);
    expect(error.reason).toMatch(/nobody\/no-such-model/);
    expect(error.chain.map((l) => l.what)).toEqual(['DeployFailed', 'the workflow run']);
  });

  it('status prints the progress of that run as JSON', async () => {
    const run = await llmops(['--json', 'status', 'cli-missing']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ workflowType: 'deployEndpoint', subject: 'cli-missing', status: 'failed' });
  });
});
