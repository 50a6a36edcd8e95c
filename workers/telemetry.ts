// What a worker adds to Temporal for being watched: the runtime's Prometheus exporter (Temporal's
// own worker metrics: task slots, poll and schedule-to-start latencies, workflow and activity
// outcomes) and the OpenTelemetry interceptors that trace each workflow and activity in the
// trace of the client call that started it (common/tracing.ts sets up the provider).
//
// Metrics are off by default: LLMOPS_WORKER_METRICS_PORT=9464 serves them at
// http://127.0.0.1:9464/metrics (LLMOPS_WORKER_METRICS_HOST=0.0.0.0 for a container). Off rather
// than on a default port, because two workers on one machine would fight over it.
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry/lib/worker/index.js';
import type { MetricsExporterConfig, WorkerOptions } from '@temporalio/worker';
import { createRequire } from 'node:module';
import { setupTracing } from '../common/tracing.js';
import { telemetryConfig } from '../common/config.js';

/** The Runtime's metrics exporter the environment asks for; an Error naming the variable when it is wrong. */
export function workerMetricsOptions(env: NodeJS.ProcessEnv = process.env): MetricsExporterConfig | undefined {
  const { LLMOPS_WORKER_METRICS_PORT: n, LLMOPS_WORKER_METRICS_HOST: host } = telemetryConfig.read(env);
  if (n === undefined) return undefined;
  return { prometheus: { bindAddress: `${host.includes(':') ? `[${host}]` : host}:${n}` } };
}

const workflowInterceptorsModule = createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/**
 * The worker options that trace workflows and activities, with tracing set up for this process
 * under `serviceName`; nothing when tracing is off. Workflow spans leave the sandbox through the
 * `exporter` sink into the process's span processor; activity spans are children of the workflow's,
 * and the AWS SDK calls an activity makes are children of the activity's.
 */
export function workerTracingOptions(serviceName: string): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  const tracing = setupTracing({ serviceName });
  if (!tracing) return {};
  return {
    interceptors: {
      workflowModules: [workflowInterceptorsModule],
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
    },
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}
