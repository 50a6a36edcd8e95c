// Model container processes for tests: started with the tiny TinyStories model on a free
// port, waited on until /ping answers 200, spoken to over HTTP as SageMaker and TGI clients
// speak to them, and stopped after the test file.
import { delimiter } from 'node:path';
import { afterAll, expect } from 'vitest';
import { freePort, type ManagedProcess, PortTakenError, retryWhilePortTaken, waitUntil, watchStartup } from '../../dev/processes.js';
import { modelsDirs } from '../../common/project-paths.js';
import { startContainerProcess } from '../../local/model-server/launch.js';
import { TINY_MODEL_ID } from './support.js';

export const PROMPT = 'Once upon a time';
const started: ManagedProcess[] = [];

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
});

export interface StartedContainer {
  url: string;
  proc: ManagedProcess;
  output: () => string;
}

/** Starts a container process without waiting for it to serve (for start-up failures). */
export async function launchContainer(env: Record<string, string>): Promise<StartedContainer> {
  const port = await freePort();
  let output = '';
  const proc = startContainerProcess({
    port,
    env: { HF_MODEL_ID: TINY_MODEL_ID, LLMOPS_MODELS_DIRS: modelsDirs().join(delimiter), ...env },
    onOutput: (chunk) => (output += chunk),
  });
  started.push(proc);
  return { url: `http://127.0.0.1:${port}`, proc, output: () => output };
}

/** A container process serving /ping, on another port should its first be taken before it binds. */
export function startContainer(env: Record<string, string> = {}): Promise<StartedContainer> {
  return retryWhilePortTaken(async () => {
    const container = await launchContainer(env);
    const startup = watchStartup(container.proc);
    try {
      await waitUntil('model container', async () => (await fetch(`${container.url}/ping`)).status === 200, {
        timeoutMs: 60_000,
        process: container.proc,
      });
    } catch (err) {
      const failure = await startup.failed();
      throw failure.portTaken ? new PortTakenError(Number(new URL(container.url).port), err as Error) : err;
    }
    return container;
  });
}

export async function invoke(url: string, body: unknown) {
  const res = await fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

export async function generate(url: string, parameters: Record<string, unknown> = {}, inputs = PROMPT) {
  const res = await invoke(url, { inputs, parameters });
  expect(res.status, res.text).toBe(200);
  return res.json() as Array<{ generated_text: string; details?: Record<string, any> }>;
}
