// InvokeEndpointAsync's background half: a FIFO queue per endpoint, worked off with at most
// MaxConcurrentInvocationsPerInstance × (instances in service) requests at the model processes.
// Each request reads its payload (from S3, or the inline Body), calls a process the way
// InvokeEndpoint does, and writes the answer to `<S3OutputPath>/<InferenceId>.out`, or, when the
// container answers with an error (or never answers), the error to
// `<S3FailurePath>/<InferenceId>-error.out`. Without an S3FailurePath a failure is only logged,
// as on AWS before failure paths existed.
//
// The queue is in memory: requests not yet done when the local cloud stops are lost (AWS's
// queue is durable). Requests wait in the queue while the endpoint has no live process (scaled to
// zero, relaunching after a restart) until RequestTTLSeconds runs out.
import type { S3Client } from '@aws-sdk/client-s3';
import { setTimeout as sleep } from 'node:timers/promises';
import { buffer } from 'node:stream/consumers';
import type { Logger } from 'pino';
import { createContainerCaller, InvocationTimeoutError } from '../instances/container-call.js';
import type { ContainerPoolApi } from '../instances/types.js';
import { describeS3Error, getObject, putObject, s3Uri, type S3Location } from '../s3.js';
import { CONTAINER_NAME } from './errors.js';

export interface AsyncRequest {
  endpointName: string;
  inferenceId: string;
  /** Where the payload is, or the payload itself (inline Body). */
  input: { location: S3Location } | { body: Buffer };
  contentType?: string;
  accept?: string;
  customAttributes?: string;
  output: S3Location;
  failure?: S3Location;
  /** RequestTTLSeconds: how long it may wait in the queue. */
  ttlMs: number;
  /** InvocationTimeoutSeconds: how long the container has to answer. */
  timeoutMs: number;
}

interface Entry {
  request: AsyncRequest;
  enqueuedAt: number;
}

interface EndpointQueue {
  active: number;
  waiting: Entry[];
}

export interface AsyncInvocationsDeps {
  pool: ContainerPoolApi;
  s3: () => S3Client;
  /** How many requests the endpoint may have at its processes now; undefined once the endpoint is gone. */
  concurrencyOf(endpointName: string): number | undefined;
  logger: Logger;
}

const NO_INSTANCE_POLL_MS = 250;
/** When the config leaves MaxConcurrentInvocationsPerInstance to SageMaker: a model process serves one request at a time anyway. */
export const DEFAULT_CONCURRENCY_PER_INSTANCE = 1;

export class AsyncInvocations {
  private readonly queues = new Map<string, EndpointQueue>();
  private readonly closing = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly callContainer = createContainerCaller();

  constructor(private readonly deps: AsyncInvocationsDeps) {}

  enqueue(request: AsyncRequest): void {
    let queue = this.queues.get(request.endpointName);
    if (!queue) this.queues.set(request.endpointName, (queue = { active: 0, waiting: [] }));
    queue.waiting.push({ request, enqueuedAt: Date.now() });
    this.pump(request.endpointName);
  }

  /** Queued and running requests of an endpoint (for tests and logs). */
  pending(endpointName: string): number {
    const queue = this.queues.get(endpointName);
    return queue ? queue.active + queue.waiting.length : 0;
  }

  /** Drops the queues and abandons requests in flight without writing their results. */
  async close(): Promise<void> {
    this.closing.abort();
    this.queues.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  private pump(endpointName: string): void {
    const queue = this.queues.get(endpointName);
    if (!queue || this.closing.signal.aborted) return;
    const limit = Math.max(1, this.deps.concurrencyOf(endpointName) ?? 1);
    while (queue.active < limit && queue.waiting.length) {
      const entry = queue.waiting.shift()!;
      queue.active += 1;
      const run = this.process(entry)
        .catch((err: unknown) => this.deps.logger.error({ err, endpoint: endpointName }, 'async invocation crashed'))
        .finally(() => {
          this.inFlight.delete(run);
          queue.active -= 1;
          if (!queue.active && !queue.waiting.length && this.queues.get(endpointName) === queue) this.queues.delete(endpointName);
          else this.pump(endpointName);
        });
      this.inFlight.add(run);
    }
  }

  private async process({ request, enqueuedAt }: Entry): Promise<void> {
    const { endpointName, inferenceId } = request;
    const log = this.deps.logger.child({ endpoint: endpointName, inferenceId });
    const signal = this.closing.signal;
    const fail = (message: string, body: Buffer = Buffer.from(message), contentType = 'text/plain') =>
      this.writeFailure(request, body, contentType, message, log);

    let payload: Buffer;
    if ('body' in request.input) {
      payload = request.input.body;
    } else {
      try {
        payload = await getObject(this.deps.s3(), request.input.location, signal);
      } catch (err) {
        if (signal.aborted) return;
        return fail(`Could not read the input ${s3Uri(request.input.location)}: ${describeS3Error(err)}`);
      }
    }

    // Wait for a live process: the endpoint may be relaunching, or scaled to zero.
    let instance = this.deps.pool.pick(endpointName);
    while (!instance) {
      if (this.deps.concurrencyOf(endpointName) === undefined) return fail(`Endpoint ${endpointName} no longer exists.`);
      if (Date.now() - enqueuedAt > request.ttlMs) {
        return fail(`The request expired after waiting ${Math.round(request.ttlMs / 1000)} s (RequestTTLSeconds) for an instance to serve it.`);
      }
      try {
        await sleep(NO_INSTANCE_POLL_MS, undefined, { signal });
      } catch {
        return;
      }
      instance = this.deps.pool.pick(endpointName);
    }

    const headers: Record<string, string> = {};
    if (request.contentType) headers['Content-Type'] = request.contentType;
    if (request.accept) headers.Accept = request.accept;
    if (request.customAttributes) headers['X-Amzn-SageMaker-Custom-Attributes'] = request.customAttributes;
    let status: number;
    let answer: Buffer;
    let contentType: string | undefined;
    try {
      const call = await this.callContainer(instance.url, { body: payload, headers, timeoutMs: request.timeoutMs, signal });
      try {
        answer = await buffer(call.response);
      } catch (err) {
        throw call.timedOut ? new InvocationTimeoutError(request.timeoutMs) : err;
      }
      status = call.response.statusCode ?? 0;
      contentType = call.response.headers['content-type'];
    } catch (err) {
      if (signal.aborted) return;
      return fail(
        err instanceof InvocationTimeoutError
          ? `The invocation timed out: container ${CONTAINER_NAME} did not answer within ${request.timeoutMs / 1000} s (InvocationTimeoutSeconds).`
          : `Could not reach container ${CONTAINER_NAME}: ${(err as Error).message}`,
      );
    }
    if (status < 200 || status >= 300) {
      return fail(`Received ${status >= 500 ? 'server' : 'client'} error (${status}) from ${CONTAINER_NAME}`, answer, contentType ?? 'text/plain');
    }
    try {
      await putObject(this.deps.s3(), request.output, answer, contentType, signal);
      log.debug({ output: s3Uri(request.output), bytes: answer.length }, 'async inference done');
    } catch (err) {
      if (signal.aborted) return;
      log.warn({ err, output: s3Uri(request.output) }, 'could not write the async inference output');
      await fail(`Could not write the output to ${s3Uri(request.output)}: ${describeS3Error(err)}`);
    }
  }

  private async writeFailure(request: AsyncRequest, body: Buffer, contentType: string, summary: string, log: Logger): Promise<void> {
    if (this.closing.signal.aborted) return;
    if (!request.failure) {
      log.warn({ reason: summary }, 'async inference failed; the endpoint has no S3FailurePath to record it');
      return;
    }
    try {
      await putObject(this.deps.s3(), request.failure, body, contentType, this.closing.signal);
      log.info({ failure: s3Uri(request.failure), reason: summary }, 'async inference failed');
    } catch (err) {
      if (!this.closing.signal.aborted) log.warn({ err, failure: s3Uri(request.failure), reason: summary }, 'could not write the async inference failure');
    }
  }
}
