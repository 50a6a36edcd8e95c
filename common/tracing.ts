// OpenTelemetry tracing for every process of this project (workers, the RAG service, the CLI):
// one tracer provider per process, exporting over OTLP/HTTP (JSON) when OTEL_EXPORTER_OTLP_ENDPOINT
// (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set and off otherwise, plus the AWS SDK
// instrumentation that gives every SDK call its own span under the activity that made it.
// Temporal's interceptors carry the context from client to workflow to activity (see
// clientTracingInterceptors here and workers/telemetry.ts).
//
// Not for workflow code: the workflow sandbox gets its spans through the interceptors' sink.
import { context, trace } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { AwsInstrumentation } from '@opentelemetry/instrumentation-aws-sdk';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client/index.js';
import type { ClientInterceptors } from '@temporalio/client';

// The AWS SDK instrumentation hooks `require` of @smithy/* and patches each client's middleware
// stack as it is built, so it must be enabled before any SDK client module loads: here, at
// import time, and this module is imported first by activities/aws-clients.ts and the entry
// points. Without a registered tracer provider its spans are no-ops (nothing recorded or sent).
// OTEL_SDK_DISABLED=true, the standard switch, leaves the SDK unpatched.
if (process.env.OTEL_SDK_DISABLED !== 'true') {
  registerInstrumentations({ instrumentations: [new AwsInstrumentation({ suppressInternalInstrumentation: true })] });
}

export interface Tracing {
  resource: Resource;
  /** Where finished spans go; the workers' workflow-span sink feeds the same one. */
  spanProcessor: SpanProcessor;
  /** Sends what is buffered (tests, and before a process exits). */
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** service.name on every span (OTEL_SERVICE_NAME wins when set, as the OTel spec says). */
  serviceName: string;
  /** Instead of OTLP: where spans go (tests pass an InMemorySpanExporter in a SimpleSpanProcessor). */
  spanProcessor?: SpanProcessor;
  env?: NodeJS.ProcessEnv;
}

let active: Tracing | undefined;

/** Whether the environment asks for spans to be exported. */
export const otlpConfigured = (env: NodeJS.ProcessEnv = process.env) =>
  env.OTEL_SDK_DISABLED !== 'true' && Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());

/**
 * Registers the process's tracer provider, once: with `spanProcessor` when given, else an OTLP/HTTP
 * exporter when the environment configures one (the exporter reads the standard OTEL_EXPORTER_OTLP_*
 * variables itself: endpoint, headers, timeout). Returns undefined when tracing is off. A second
 * call returns the first call's setup: a process has one global provider.
 */
export function setupTracing(opts: TracingOptions): Tracing | undefined {
  if (active) return active;
  const env = opts.env ?? process.env;
  if (!opts.spanProcessor && !otlpConfigured(env)) return undefined;
  const resource = Resource.default().merge(new Resource({ 'service.name': env.OTEL_SERVICE_NAME?.trim() || opts.serviceName }));
  const spanProcessor = opts.spanProcessor ?? new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // Also installs the AsyncLocalStorage context manager and the W3C trace-context propagator.
  provider.register();
  active = {
    resource,
    spanProcessor,
    forceFlush: () => provider.forceFlush(),
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      active = undefined;
    },
  };
  return active;
}

/** The tracing set up in this process, if any. */
export const activeTracing = (): Tracing | undefined => active;

/**
 * The Temporal client interceptors that start a span for each workflow start, signal and query
 * and pass its context in the workflow's headers; none when tracing is off.
 */
export function clientTracingInterceptors(): ClientInterceptors | undefined {
  return active ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : undefined;
}
