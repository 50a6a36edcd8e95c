// `tsx local/main.ts [--port 4566] [--host 127.0.0.1] [--state-dir .local-cloud]`: runs the local cloud until
// SIGINT/SIGTERM. stdout carries one JSON line per lifecycle event (`ready`, `stopped`) for
// scripts to wait on; structured logs go to stderr.
import { Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { startLocalCloud } from './server.js';

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
  .parse();

const { port, host, stateDir } = program.opts<{ port: number; host: string; stateDir: string }>();
const logger = pino({ name: 'local-cloud', level: process.env.LLMOPS_LOG_LEVEL ?? 'info' }, pino.destination(2));

const cloud = await startLocalCloud({ port, host, stateDir, logger });
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
