// How a model container process is started. `node --import <tsx loader> main.ts` runs the
// TypeScript entry in one process: the tsx CLI would spawn a second node process under itself,
// which costs start-up time and makes the pid we track (and signal) not the server's own.
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startProcess, type ManagedProcess } from '../../dev/processes.js';
import { PORT_ENV } from './config.js';
import { containerProcessEnv } from './process-env.js';

const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface ContainerLaunch {
  port: number;
  /** The container's environment (HF_MODEL_ID, limits, LLMOPS_* settings); of ours, the process gets only what process-env.ts lets through. */
  env: Record<string, string>;
  logFile?: string;
  onOutput?: (chunk: string) => void;
}

export function containerCommand(): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', tsxLoader, entry] };
}

export function startContainerProcess({ port, env, logFile, onOutput }: ContainerLaunch): ManagedProcess {
  const { command, args } = containerCommand();
  return startProcess(command, args, {
    env: containerProcessEnv({ ...env, [PORT_ENV]: String(port) }),
    logFile,
    onOutput,
  });
}
