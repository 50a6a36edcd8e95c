// `npm run stack:up` / `npm run stack:down`: the embedded stack as a background process.
// `up` starts `stack.ts serve` detached, waits until it reports ready in .stack/stack.json
// and prints the addresses; `down` stops it (it stops its children: Temporal, moto, models).
import { Command } from 'commander';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../common/project-paths.js';
import { venvBin } from '../dev/tools.js';
import { startStack, type StackAddresses } from './embedded-stack.js';
import { isRunning } from '../dev/processes.js';
import { localCloudConfig } from '../common/config.js';

const stateDir = localCloudConfig.read().LLMOPS_STACK_DIR ?? join(projectRoot, '.stack');
const stackFile = join(stateDir, 'stack.json');
const serveLog = join(stateDir, 'logs', 'stack.log');

interface StackFile extends StackAddresses {
  pid: number;
  startedAt: string;
}

function readStackFile(): StackFile | undefined {
  if (!existsSync(stackFile)) return undefined;
  return JSON.parse(readFileSync(stackFile, 'utf8')) as StackFile;
}

function describe(s: StackAddresses): string {
  return [
    `Temporal:         ${s.temporalAddress}`,
    `Temporal Web UI:  ${s.webUiUrl}`,
    `AWS endpoint URL: ${s.awsEndpointUrl}`,
    `Logs:             ${s.logsDir}`,
    '',
    'To use the temporal and aws CLIs against it:',
    `  export PATH="${venvBin}:$PATH" TEMPORAL_ADDRESS=${s.temporalAddress}`,
    `  export AWS_ENDPOINT_URL=${s.awsEndpointUrl} AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test`,
  ].join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const program = new Command('stack').description('the embedded local stack (Temporal dev server, local cloud, control worker)');

program
  .command('up')
  .option('--timeout <seconds>', 'how long to wait for the stack to become healthy', Number, 180)
  .action(async (opts: { timeout: number }) => {
    const running = readStackFile();
    if (running && isRunning(running.pid)) {
      console.log(`Stack already running (pid ${running.pid}).\n${describe(running)}`);
      return;
    }
    rmSync(stackFile, { force: true });
    mkdirSync(join(stateDir, 'logs'), { recursive: true });
    const out = openSync(serveLog, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'serve'], {
      cwd: projectRoot,
      detached: true,
      stdio: ['ignore', out, out],
      env: process.env,
    });
    child.unref();
    let exited = false;
    child.once('exit', () => (exited = true));
    process.stderr.write('Starting Temporal dev server, local cloud (with moto) and the control worker');
    const deadline = Date.now() + opts.timeout * 1000;
    while (!readStackFile()) {
      if (exited || Date.now() > deadline) {
        const log = existsSync(serveLog) ? readFileSync(serveLog, 'utf8').split('\n').slice(-30).join('\n') : '';
        if (!exited) process.kill(child.pid!, 'SIGTERM');
        throw new Error(`the stack did not become healthy${exited ? ' (it exited)' : ` within ${opts.timeout}s`}; last log lines:\n${log}`);
      }
      process.stderr.write('.');
      await sleep(500);
    }
    console.error(' ready.');
    console.log(describe(readStackFile()!));
  });

program.command('down').action(async () => {
  const running = readStackFile();
  if (!running || !isRunning(running.pid)) {
    rmSync(stackFile, { force: true });
    console.log('Stack is not running.');
    return;
  }
  process.kill(running.pid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (isRunning(running.pid) && Date.now() < deadline) await sleep(200);
  if (isRunning(running.pid)) process.kill(running.pid, 'SIGKILL');
  rmSync(stackFile, { force: true });
  console.log(`Stack stopped (state kept in ${stateDir}).`);
});

program.command('status').action(() => {
  const running = readStackFile();
  console.log(running && isRunning(running.pid) ? `Running (pid ${running.pid}).\n${describe(running)}` : 'Stack is not running.');
});

program
  .command('serve', { hidden: true })
  .description('run the stack in the foreground until SIGINT/SIGTERM')
  .action(async () => {
    const stack = await startStack({ stateDir });
    const { stop: _stop, ...addresses } = stack;
    const file: StackFile = { pid: process.pid, startedAt: new Date().toISOString(), ...addresses };
    writeFileSync(stackFile, JSON.stringify(file, null, 2));
    console.log(describe(stack));
    const shutdown = async () => {
      rmSync(stackFile, { force: true });
      await stack.stop();
      process.exit(0);
    };
    process.once('SIGTERM', () => void shutdown());
    process.once('SIGINT', () => void shutdown());
  });

program.parseAsync().catch((err: unknown) => {
  console.error(`\nError: ${(err as Error).message}`);
  process.exit(1);
});
