// Temporal servers for tests, from the binaries scripts/setup.sh installs (no downloads).
// A CommonJS module whose named exports Node's ESM loader cannot see (worker subprocesses load this file too).
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { installTemporalLogging } from '../../workers/logger.js';
import { fileURLToPath } from 'node:url';
import { SEARCH_ATTRIBUTES } from '../../common/resource-names.js';
import { temporalCli, temporalTestServer } from '../../dev/tools.js';

const { temporal } = proto;

export const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installTemporalLogging();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServer() } },
  });
  // The test server has no CLI flag for custom search attributes; its operator API does.
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((key) => [key.name, temporal.api.enums.v1.IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`]])),
  });
  return env;
}

/** A real dev server (the one `npm run stack:up` runs), with our search attributes registered. */
export function devServerEnv(): Promise<TestWorkflowEnvironment> {
  installTemporalLogging();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCli() },
      searchAttributes: SEARCH_ATTRIBUTES,
      extraArgs: ['--headless', '--log-level', 'error'],
    },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Webpack-bundling the workflows takes seconds; do it once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } as never });
  return bundle;
}
