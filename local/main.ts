// `tsx local/main.ts [--port 4566] [--host 127.0.0.1] [--state-dir .local-cloud] [--faults <spec>]
// [--rate-limit <per-second>] [--endpoint-faults <spec>]`: runs the local cloud until
// SIGINT/SIGTERM. stdout carries one JSON line per lifecycle event (`ready`, `stopped`) for
// scripts to wait on; structured logs go to stderr.
import { Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { FaultConfigError, faultSettingsFromEnv, parseEndpointFaults, parseRateLimit, parseRequestFaults } from './faults.js';
import { startLocalCloud } from './server.js';
import { logLevel } from '../common/config.js';

/** A fault-setting parser as a commander option parser: its message becomes the CLI's error. */
function flag<T>(parse: (value: string, what: string) => T, name: string) {
  return (value: string): T => {
    try {
      return parse(value, name);
    } catch (err) {
      if (err instanceof FaultConfigError) throw new InvalidArgumentError(err.message);
      throw err;
    }
  };
}

function portNumber(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('must be a port number (0 for any free port)');
  return port;
}

const program = new Command()
  .name('local-cloud')
  .description('AWS endpoint on loopback: SageMaker and SageMaker Runtime emulated with local model processes, other services by moto')
  .option('--port <port>', 'port to listen on (0 = any free port)', portNumber, 4566)
  .option('--host <address>', 'address to bind (loopback by default; 0.0.0.0 only inside a container)', '127.0.0.1')
  .option('--state-dir <dir>', 'where resources, the moto journal and logs are kept across restarts', '.local-cloud')
  .option(
    '--faults <spec>',
    'inject faults (default $LOCAL_CLOUD_FAULTS), e.g. "throttle=0.2,5xx=0.05,latencyMs=50,drop=0.01;services=sagemaker,s3"',
    flag(parseRequestFaults, '--faults'),
  )
  .option(
    '--rate-limit <per-second>',
    'throttle each account and operation above this rate (default $LOCAL_CLOUD_RATE_LIMIT; unlimited)',
    flag(parseRateLimit, '--rate-limit'),
  )
  .option(
    '--endpoint-faults <spec>',
    'per-endpoint faults (default $LOCAL_CLOUD_ENDPOINT_FAULTS), e.g. "my-ep=fail-health-check,other=crash-after-start"',
    flag(parseEndpointFaults, '--endpoint-faults'),
  )
  .parse();

const { port, host, stateDir, ...flags } = program.opts<{
  port: number;
  host: string;
  stateDir: string;
  faults?: ReturnType<typeof parseRequestFaults>;
  rateLimit?: number;
  endpointFaults?: ReturnType<typeof parseEndpointFaults>;
}>();
// Flags win over the environment, setting by setting.
const fromEnv = faultSettingsFromEnv();
const faults = {
  requests: flags.faults ?? fromEnv.requests,
  rateLimit: flags.rateLimit ?? fromEnv.rateLimit,
  endpoints: flags.endpointFaults ?? fromEnv.endpoints,
  fleets: fromEnv.fleets,
};
const logger = pino({ name: 'local-cloud', level: logLevel() }, pino.destination(2));

const cloud = await startLocalCloud({ port, host, stateDir, logger, faults });
process.stdout.write(`${JSON.stringify({ event: 'ready', url: cloud.url, motoUrl: cloud.motoUrl, stateDir: cloud.stateDir })}\n`);

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  cloud.close().then(
    () => {
      process.stdout.write(`${JSON.stringify({ event: 'stopped' })}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      logger.error({ err }, 'unclean stop');
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
