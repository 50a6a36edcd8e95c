// One structured logger for workers and clients; Temporal's own runtime logs go through it too.
// Every line is scrubbed of the secret values this process has resolved before it is written.
import { DefaultLogger, makeTelemetryFilterString, Runtime, type LogLevel } from '@temporalio/worker';
import { pino } from 'pino';
import { scrubSecrets } from '../activities/secret-registry.js';
import { workerMetricsOptions } from './telemetry.js';
import { logLevel } from '../common/config.js';

// Logs go to stderr so stdout stays clean for results (JSON from the CLI, the demo's report).
export const logger = pino(
  {
    level: logLevel(),
    base: { pid: process.pid },
    // The Temporal SDK passes failures as `error`; without this pino would write them as `{}`.
    serializers: { error: pino.stdSerializers.err },
    // Secrets must never reach logs, even when an SDK error echoes a request: fields that hold
    // one by name are censored, and the finished line loses every value resolved as a secret
    // (wherever it sits: an error message, a stack, a serialized request).
    redact: {
      paths: [
        '*.HF_TOKEN',
        '*.*.HF_TOKEN',
        '*.HUGGING_FACE_HUB_TOKEN',
        '*.*.HUGGING_FACE_HUB_TOKEN',
        '*.SecretString',
        '*.*.SecretString',
        '*.authorization',
        '*.Authorization',
      ],
      censor: '[redacted]',
    },
    hooks: { streamWrite: scrubSecrets },
  },
  pino.destination(2),
);

let installed = false;
/** Routes the Temporal SDK's logs into pino, and its metrics to Prometheus when configured (telemetry.ts), once per process. */
export function installTemporalLogging(level: LogLevel = 'WARN'): void {
  if (installed) return;
  installed = true;
  const temporalLog = logger.child({ component: 'temporal' });
  Runtime.install({
    logger: new DefaultLogger(level, ({ level: lvl, message, meta }) => {
      const method = lvl === 'TRACE' ? 'trace' : lvl === 'DEBUG' ? 'debug' : lvl === 'INFO' ? 'info' : lvl === 'WARN' ? 'warn' : 'error';
      temporalLog[method](meta ?? {}, message);
    }),
    // Core's own warnings are about server capabilities (e.g. the test server's age), not our runs.
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) }, metrics: workerMetricsOptions() },
  });
}
