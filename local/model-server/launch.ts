// How a model container process is started. `node --import <tsx loader> main.ts` runs the
// TypeScript entry in one process: the tsx CLI would spawn a second node process under itself,
// which costs start-up time and makes the pid we track (and signal) not the server's own.
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startProcess, type ManagedProcess } from '../../dev/processes.js';
import { PORT_ENV } from './config.js';

const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface ContainerLaunch {
  port: number;
  /** The container's environment on top of ours (HF_MODEL_ID, limits, LLMOPS_* settings). */
  env: Record<string, string>;
  logFile?: string;
  onOutput?: (chunk: string) => void;
}

// The container contract is read from the environment only, so variables a parent process
// happens to carry must not leak into a container whose model did not set them.
const CONTRACT_VARIABLE = /^(HF_|MAX_|SAGEMAKER_|SM_|LLMOPS_MODEL|LLMOPS_IMAGE|LLMOPS_INSTANCE)/;

export function containerCommand(): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', tsxLoader, entry] };
}

export function startContainerProcess({ port, env, logFile, onOutput }: ContainerLaunch): ManagedProcess {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !CONTRACT_VARIABLE.test(name)));
  const { command, args } = containerCommand();
  return startProcess(command, args, {
    env: { ...inherited, ...env, [PORT_ENV]: String(port) },
    logFile,
    onOutput,
  });
}
