// OpenTelemetry tracing for every process of this project (workers, the RAG service, the CLI):
// one tracer provider per process, exporting over OTLP/HTTP (JSON) when OTEL_EXPORTER_OTLP_ENDPOINT
// (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set and off otherwise, and a span for every AWS SDK
// call under the activity (or request) that made it. Temporal's interceptors carry the context
// from client to workflow to activity (clientTracingInterceptors here, workers/telemetry.ts).
//
// Not for workflow code: the workflow sandbox gets its spans through the interceptors' sink.
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import type { ClientInterceptors } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client/index.js';
import { telemetryConfig } from './config.js';

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
  /** Instead of OTLP: where spans go (for example an InMemorySpanExporter in a SimpleSpanProcessor). */
  spanProcessor?: SpanProcessor;
  env?: NodeJS.ProcessEnv;
}

let active: Tracing | undefined;

/** Whether the environment asks for spans to be exported. */
const otlpConfigured = (env: NodeJS.ProcessEnv = process.env) => {
  const telemetry = telemetryConfig.read(env);
  return !telemetry.OTEL_SDK_DISABLED && Boolean(telemetry.OTEL_EXPORTER_OTLP_ENDPOINT || telemetry.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
};

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
  const resource = Resource.default().merge(new Resource({ 'service.name': telemetryConfig.read(env).OTEL_SERVICE_NAME || opts.serviceName }));
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

/** What an AWS SDK v3 client offers a middleware: its stack and (after resolution) its region. */
interface SdkClient {
  middlewareStack: { add(middleware: unknown, options: { step: 'initialize'; name: string; override: boolean }): void };
  config: { region?: unknown };
}
type SdkMetadata = { $metadata?: { httpStatusCode?: number; requestId?: string } };

const awsTracer = trace.getTracer('llmops-aws-sdk');

/**
 * Adds a client span per call to an AWS SDK v3 client, named as AWS and OpenTelemetry's semantic
 * conventions name it (`SageMaker.DescribeEndpoint`, rpc.system=aws-api, rpc.service, rpc.method,
 * aws.request.id, http.status_code), a child of whatever span is active (the activity's). A no-op
 * span when no tracer provider is registered. For a streaming call the span ends when the stream's
 * headers arrive. Returns the client.
 *
 * Hand-written rather than @opentelemetry/instrumentation-aws-sdk: that package patches the SDK by
 * hooking `require`, which never fires here (tsx and vitest load the SDK through Node's ESM loader
 * hooks, whose CommonJS `require` bypasses the hook), so it traced nothing; a middleware on each
 * client works however the SDK was loaded.
 */
export function traceAwsSdkCalls<C extends object>(client: C): C {
  const sdk = client as unknown as SdkClient;
  sdk.middlewareStack.add(
    (next: (args: unknown) => Promise<{ output?: SdkMetadata }>, ctx: { clientName?: string; commandName?: string }) => async (args: unknown) => {
      const service = (ctx.clientName ?? 'AWS').replace(/Client$/, '');
      const method = (ctx.commandName ?? 'Unknown').replace(/Command$/, '');
      const region = typeof sdk.config.region === 'function' ? await (sdk.config.region as () => Promise<string>)().catch(() => undefined) : sdk.config.region;
      return awsTracer.startActiveSpan(
        `${service}.${method}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'rpc.system': 'aws-api',
            'rpc.service': service,
            'rpc.method': method,
            ...(typeof region === 'string' ? { 'cloud.region': region } : {}),
          },
        },
        async (span) => {
          const record = (meta: SdkMetadata['$metadata']) => {
            if (meta?.httpStatusCode) span.setAttribute('http.status_code', meta.httpStatusCode);
            if (meta?.requestId) span.setAttribute('aws.request.id', meta.requestId);
          };
          try {
            const result = await next(args);
            record(result.output?.$metadata);
            return result;
          } catch (err) {
            record((err as SdkMetadata).$metadata);
            span.recordException(err as Error);
            span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).name });
            throw err;
          } finally {
            span.end();
          }
        },
      );
    },
    { step: 'initialize', name: 'openTelemetryClientSpan', override: true },
  );
  return client;
}
