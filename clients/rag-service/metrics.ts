// The RAG service's Prometheus metrics (GET /metrics), what the reference designs watch: request
// rate and errors by route and status, request latency, time to first token, tokens per second,
// and each RAG step's latency (embed, retrieve, rerank, prompt, generate). One registry per
// service, so two services in one process (tests) do not share counts. Route labels come from a
// fixed list, so a scan of random paths cannot grow the series without bound.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The routes the service labels by; any other path is counted as `other`. */
const ROUTES = new Set(['/', '/chat.js', '/chat.css', '/favicon.svg', '/rag', '/rag/stream', '/healthz', '/readyz', '/metrics']);
export const routeLabel = (path: string) => (ROUTES.has(path) ? path : 'other');

/** The workflow's step timings (RagQueryResult.timings keys) and the label each is reported under. */
const STEP_LABELS: Record<string, string> = { embed: 'embed', retrieve: 'retrieve', rerank: 'rerank', buildPrompt: 'prompt', generate: 'generate' };

export interface RagServiceMetrics {
  registry: Registry;
  /** One finished request (called when its response closes). */
  request(route: string, method: string, status: number, seconds: number): void;
  /** A request that ended in an error, by the code of its {"error"} body or `error` event. */
  error(route: string, code: string): void;
  /** The ragQuery workflow's step timings in milliseconds. */
  steps(route: string, timingsMs: Record<string, number>): void;
  /** One generation streamed from the endpoint. */
  generation(timeToFirstTokenMs: number, tokens: number, generateMs: number): void;
  streamsInFlight: Gauge;
}

export function createRagServiceMetrics(): RagServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rag_service_' });
  const requests = new Counter({
    name: 'rag_http_requests_total',
    help: 'HTTP requests answered, by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'rag_http_errors_total',
    help: 'Requests that ended in an error, by route and error code (the code of the {"error"} body or SSE error event)',
    labelNames: ['route', 'code'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'rag_http_request_duration_seconds',
    help: 'Time from request received to response closed, by route and status',
    labelNames: ['route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const steps = new Histogram({
    name: 'rag_step_duration_seconds',
    help: 'Latency of each RAG step (embed, retrieve, rerank, prompt, generate) as the ragQuery workflow measured it, by route',
    labelNames: ['route', 'step'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const ttft = new Histogram({
    name: 'rag_time_to_first_token_seconds',
    help: 'Time from the endpoint stream request to its first token (/rag/stream)',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  const tokensPerSecond = new Histogram({
    name: 'rag_generation_tokens_per_second',
    help: 'Tokens per second of each streamed generation, after the first token (/rag/stream)',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers: [registry],
  });
  const tokens = new Counter({ name: 'rag_generated_tokens_total', help: 'Tokens streamed to clients (/rag/stream)', registers: [registry] });
  const streamsInFlight = new Gauge({ name: 'rag_streams_in_flight', help: 'Endpoint streams being relayed to clients now', registers: [registry] });

  return {
    registry,
    streamsInFlight,
    request(route, method, status, seconds) {
      requests.inc({ route, method, status: String(status) });
      latency.observe({ route, status: String(status) }, seconds);
    },
    error(route, code) {
      errors.inc({ route, code });
    },
    steps(route, timingsMs) {
      for (const [key, ms] of Object.entries(timingsMs)) {
        const step = STEP_LABELS[key];
        if (step && Number.isFinite(ms)) steps.observe({ route, step }, ms / 1000);
      }
    },
    generation(timeToFirstTokenMs, count, generateMs) {
      ttft.observe(timeToFirstTokenMs / 1000);
      tokens.inc(count);
      // The rate of decoding: tokens after the first over the time after the first.
      const decodeSeconds = (generateMs - timeToFirstTokenMs) / 1000;
      if (count > 1 && decodeSeconds > 0) tokensPerSecond.observe((count - 1) / decodeSeconds);
    },
  };
}
