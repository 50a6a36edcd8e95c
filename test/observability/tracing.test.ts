// Traces and worker metrics, with the same setup the processes use: the control worker of
// workers/control.ts (tracing interceptors, workflow-span sink, Prometheus exporter from
// LLMOPS_WORKER_METRICS_PORT) and the client of clients/temporal-client.ts (client interceptor),
// exporting over OTLP/HTTP JSON to a receiver on loopback in this process, as a collector would get
// them. A real teardownEndpoint runs against the real local cloud (moto behind it); its spans,
// from the client's start through the workflow and its activities down to each AWS SDK call,
// must arrive as one trace.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../clients/temporal-client.js';
import { localTemporalConnection } from '../../common/temporal-connection.js';
import { CONTROL_TASK_QUEUE } from '../../common/task-queues.js';
import { activeTracing } from '../../common/tracing.js';
import { workerMetricsOptions } from '../../workers/telemetry.js';
import { startActivityCloud, TEST_CREDENTIALS, type ActivityCloud } from '../activities/support.js';
import { devServerEnv } from '../support/temporal.js';
import { freePort } from '../../dev/processes.js';
import { createControlWorker } from '../../workers/control.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: { stringValue?: string } }[];
}
interface ReceivedSpan extends OtlpSpan {
  service: string;
}

const received: ReceivedSpan[] = [];
let receiver: Server;
let env: TestWorkflowEnvironment;
let cloud: ActivityCloud;
let worker: Worker;
let running: Promise<void>;
let metricsPort: number;

/** A minimal OTLP/HTTP collector: POST /v1/traces with the JSON encoding. */
async function startReceiver(): Promise<string> {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !req.headers['content-type']?.startsWith('application/json')) {
        res.writeHead(415).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: { resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      for (const rs of body.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans) for (const span of ss.spans) received.push({ ...span, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
}

beforeAll(async () => {
  // Before the Temporal runtime and the tracer provider exist: both read these once.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = await startReceiver();
  metricsPort = await freePort();
  process.env.LLMOPS_WORKER_METRICS_PORT = String(metricsPort);
  [env, cloud] = await Promise.all([devServerEnv(), startActivityCloud()]);
  worker = await createControlWorker({
    connection: env.nativeConnection,
    aws: { endpoint: cloud.cloud.url, region: 'us-east-1', credentials: TEST_CREDENTIALS },
  });
  running = worker.run();
});

afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running;
  await activeTracing()?.shutdown();
  await cloud?.close();
  await env?.teardown();
  receiver?.close();
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete process.env.LLMOPS_WORKER_METRICS_PORT;
});

const attr = (span: OtlpSpan, key: string) => span.attributes.find((a) => a.key === key)?.value.stringValue;

describe('traces', () => {
  it('follow one teardown from the client through the workflow and its activities to the AWS SDK calls', async () => {
    const client = await connectClient(localTemporalConnection(env.address), 'llmops-cli-test');
    const workflowId = `trace-${Date.now()}`;
    await client.workflow.execute('teardownEndpoint', { taskQueue: CONTROL_TASK_QUEUE, workflowId, args: [{ endpointName: 'trace-absent' }] });
    await activeTracing()!.forceFlush();

    await expect.poll(() => received.find((s) => s.name === 'StartWorkflow:teardownEndpoint')).toBeDefined();
    const startSpan = received.find((s) => s.name === 'StartWorkflow:teardownEndpoint')!;
    const trace = () => received.filter((s) => s.traceId === startSpan.traceId);
    await expect.poll(() => trace().some((s) => attr(s, 'rpc.system') === 'aws-api')).toBe(true);

    const spans = trace();
    const names = spans.map((s) => s.name);
    expect(names).toContain('RunWorkflow:teardownEndpoint');
    const run = spans.find((s) => s.name === 'RunWorkflow:teardownEndpoint')!;
    expect(run.parentSpanId).toBe(startSpan.spanId);
    const activity = spans.find((s) => s.name === 'RunActivity:findEndpointResources');
    expect(activity, `spans of the trace: ${names.join(', ')}`).toBeDefined();
    // The SDK call is a child of the activity that made it, named as AWS names the operation.
    const describe = spans.find((s) => s.name === 'SageMaker.DescribeEndpoint' && s.parentSpanId === activity!.spanId);
    expect(describe, `spans of the trace: ${names.join(', ')}`).toBeDefined();
    expect(attr(describe!, 'rpc.service')).toBe('SageMaker');
    expect(attr(describe!, 'rpc.method')).toBe('DescribeEndpoint');
    // Every span names the process's service: here client and worker share one process, whose
    // tracer provider the worker set up first (a process has one).
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['llmops-control-worker']));
    await client.connection.close();
  });
});

describe('worker metrics', () => {
  it('are served by the Temporal runtime on LLMOPS_WORKER_METRICS_PORT and count the workflows', async () => {
    await expect
      .poll(
        async () => {
          const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
          return text
            .split('\n')
            .some((l) => l.startsWith('temporal_workflow_completed') && l.includes('workflow_type="teardownEndpoint"') && Number(l.split(' ').pop()) >= 1);
        },
        { timeout: 10_000 },
      )
      .toBe(true);
  });

  it('are off without the variable, and a bad value names it', () => {
    expect(workerMetricsOptions({})).toBeUndefined();
    expect(workerMetricsOptions({ LLMOPS_WORKER_METRICS_PORT: '9464' })).toEqual({ prometheus: { bindAddress: '127.0.0.1:9464' } });
    expect(() => workerMetricsOptions({ LLMOPS_WORKER_METRICS_PORT: 'http' })).toThrow(
      'LLMOPS_WORKER_METRICS_PORT must be a port number from 1 to 65535, got "http"',
    );
  });
});
