// SageMaker Runtime as the local cloud serves it: InvokeEndpoint and
// InvokeEndpointWithResponseStream, routed through the container pool to a model process, and
// InvokeEndpointAsync, which queues the request (async-invocations.ts) and answers 202 at once.
// Requests and responses carry the headers the API defines (and only those), failures use
// the API's error shapes, and the stream is AWS event-stream framing around container bytes.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { buffer } from 'node:stream/consumers';
import type { AsyncInferenceConfig } from '@aws-sdk/client-sagemaker';
import pino, { type Logger } from 'pino';
import type { ComponentCopyRouter } from '../instances/component-copies.js';
import { createContainerCaller, InvocationTimeoutError, type ContainerCall } from '../instances/container-call.js';
import type { ContainerPoolApi } from '../instances/types.js';
import { abortOnClose, sendJson } from '../model-server/http-io.js';
import { BodyTooLargeError, invocationTooLargeMessage, MAX_INVOCATION_BODY_BYTES, readBoundedBody } from '../request-guard.js';
import { joinS3Uri, parseS3Uri } from '../s3.js';
import { AwsServiceError } from '../sagemaker/protocol.js';
import { InputChecks } from '../sagemaker/validation.js';
import type { InvocationTarget, InvocationTiming } from '../metrics/sagemaker-metrics.js';
import type { AsyncInvocations } from './async-invocations.js';
import {
  CONTAINER_NAME,
  type EndpointLogs,
  INVOCATION_TIMEOUT_MESSAGE,
  modelError,
  RuntimeError,
  seeLogs,
  sendRuntimeError,
  validationError,
} from './errors.js';
import { EVENT_STREAM_CONTENT_TYPE, exceptionFrame, payloadPartFrame } from './event-stream.js';
import { logLevel } from '../../common/config.js';

/** What the runtime needs to know about an endpoint. */
export interface RuntimeEndpoint {
  EndpointStatus: string;
  EndpointName: string;
  /** Set when the endpoint's config has one: the endpoint takes InvokeEndpointAsync only. */
  AsyncInferenceConfig?: AsyncInferenceConfig;
  /** Its variants have no model: every invocation names an inference component. */
  inferenceComponentBased?: boolean;
}

export interface RuntimeDeps {
  pool: ContainerPoolApi;
  getEndpoint(name: string): RuntimeEndpoint | undefined;
  accountId: string;
  /** The queue behind InvokeEndpointAsync; without it, async invocations are refused. */
  asyncInvocations?: AsyncInvocations;
  /** The copies of inference components, for invocations that name one. */
  components?: Pick<ComponentCopyRouter, 'route'>;
  /** How long a container has to answer (SageMaker's limit: 60 s). */
  invocationTimeoutMs?: number;
  /**
   * Faults injected into invocations served by the fleet of one endpoint config (local/faults.ts):
   * added latency, and answers as if the container failed with a 500.
   */
  fleetFault?: (endpointConfigName: string) => { latencyMs: number; fail: boolean } | undefined;
  /**
   * Records each served invocation for the endpoint's CloudWatch metrics (local/metrics), and
   * each one refused for want of a copy (NoCapacityInvocationFailures, what wakes a component
   * scaled to zero).
   */
  metrics?: { begin(target: InvocationTarget): InvocationTiming; noCapacity?(target: InvocationTarget): void };
  logger?: Logger;
}

/**
 * What the metrics learn of one invocation: its timing once a variant is chosen, and for a
 * ModelError the container's own status, which is what Invocation4XX/5XXErrors count on AWS
 * ("the model returned a 5xx HTTP response code"), not the 424 the caller gets.
 */
interface Trace {
  timing?: InvocationTiming;
  modelStatus?: number;
}

export type RuntimeHandler = (req: IncomingMessage, res: ServerResponse, region: string) => Promise<void>;

const DEFAULT_INVOCATION_TIMEOUT_MS = 60_000;
// An endpoint keeps serving its current fleet while it is being updated or rolled back.
const SERVING_STATUSES = new Set(['InService', 'Updating', 'SystemUpdating', 'RollingBack']);
const ROUTE = /^\/endpoints\/([^/]+)\/(invocations|invocations-response-stream|async-invocations)$/;
/** InvokeEndpointAsync's inline Body limit. */
const MAX_ASYNC_BODY_BYTES = 128_000;
const DEFAULT_REQUEST_TTL_SECONDS = 6 * 60 * 60;
const DEFAULT_ASYNC_INVOCATION_TIMEOUT_SECONDS = 15 * 60;

const H = {
  targetVariant: 'x-amzn-sagemaker-target-variant',
  inferenceComponent: 'x-amzn-sagemaker-inference-component',
  /** Local only: which inference-component copy served, so callers can see requests spread. */
  servedByCopy: 'X-Local-Cloud-Copy',
  /** Local only: the endpoint config whose fleet served, so callers can see a rollout split traffic. */
  servedByFleet: 'X-Local-Cloud-Endpoint-Config',
  customAttributes: 'x-amzn-sagemaker-custom-attributes',
  streamAccept: 'x-amzn-sagemaker-accept',
  streamContentType: 'X-Amzn-SageMaker-Content-Type',
  invokedVariant: 'x-Amzn-Invoked-Production-Variant',
  requestId: 'x-amzn-RequestId',
  inputLocation: 'x-amzn-sagemaker-inputlocation',
  inferenceId: 'x-amzn-sagemaker-inference-id',
  requestTtl: 'x-amzn-sagemaker-requestttlseconds',
  invocationTimeout: 'x-amzn-sagemaker-invocationtimeoutseconds',
  outputPathExtension: 'x-amzn-sagemaker-s3outputpathextension',
  filename: 'x-amzn-sagemaker-filename',
  outputLocation: 'X-Amzn-SageMaker-OutputLocation',
  failureLocation: 'X-Amzn-SageMaker-FailureLocation',
} as const;

interface AsyncHeaders {
  inputLocation?: string;
  inferenceId?: string;
  ttlSeconds?: number;
  timeoutSeconds?: number;
  outputPathExtension?: string;
  filename?: string;
}

/** InvokeEndpointAsync's header members, checked against botocore's constraints in AWS's wording. */
function asyncHeaders(req: IncomingMessage, body: Buffer): AsyncHeaders {
  const checks = new InputChecks();
  const integer = (raw: string | undefined, path: string, min: number, max: number) => {
    if (raw === undefined) return undefined;
    const value = /^-?\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
    if (Number.isNaN(value)) throw new AwsServiceError('ValidationException', `Value '${raw}' at '${path}' is not an integer.`);
    checks.integerAtLeast(value, path, min, max);
    return value;
  };
  const inputLocation = headerValue(req, H.inputLocation);
  if (inputLocation !== undefined) {
    checks.minLength(inputLocation, 'inputLocation', 1);
    checks.maxLength(inputLocation, 'inputLocation', 1024);
    checks.pattern(inputLocation, 'inputLocation', '^(https|s3)://([^/]+)/?(.*)$');
  }
  const inferenceId = headerValue(req, H.inferenceId);
  if (inferenceId !== undefined) {
    checks.minLength(inferenceId, 'inferenceId', 1);
    checks.maxLength(inferenceId, 'inferenceId', 64);
    // \A\S[\p{Print}]*\z in Java's regex dialect: printable ASCII, not starting with a space.
    if (inferenceId) checks.matches(inferenceId, 'inferenceId', /^[\x21-\x7e][\x20-\x7e]*$/, '\\A\\S[\\p{Print}]*\\z');
  }
  const outputPathExtension = headerValue(req, H.outputPathExtension);
  if (outputPathExtension !== undefined) {
    checks.maxLength(outputPathExtension, 's3OutputPathExtension', 512);
    checks.pattern(outputPathExtension, 's3OutputPathExtension', "^(?!s3:|https:)[a-zA-Z0-9!_.*'()/-]+$");
  }
  const filename = headerValue(req, H.filename);
  if (filename !== undefined) {
    checks.maxLength(filename, 'filename', 32);
    checks.pattern(filename, 'filename', '^(?!.*\\..*\\.)[a-zA-Z0-9][a-zA-Z0-9-_\\.]*$');
  }
  const ttlSeconds = integer(headerValue(req, H.requestTtl), 'requestTTLSeconds', 60, 21600);
  const timeoutSeconds = integer(headerValue(req, H.invocationTimeout), 'invocationTimeoutSeconds', 1, 3600);
  if (body.length > MAX_ASYNC_BODY_BYTES) checks.maxLength(body as unknown as unknown[], 'body', MAX_ASYNC_BODY_BYTES);
  checks.done();
  if ((inputLocation === undefined) === (body.length === 0)) {
    throw new AwsServiceError('ValidationException', 'Body and InputLocation are mutually exclusive. Provide exactly one of them.');
  }
  if (inputLocation !== undefined && !inputLocation.startsWith('s3://')) {
    throw new AwsServiceError('ValidationException', `The InputLocation "${inputLocation}" is not supported by the local cloud (only s3:// URIs).`);
  }
  return { inputLocation, inferenceId, ttlSeconds, timeoutSeconds, outputPathExtension, filename };
}

/** InvokeEndpoint's Body, refused in AWS's words past BodyBlob's 6 MiB without keeping the excess. */
async function invocationBody(req: IncomingMessage): Promise<Buffer> {
  try {
    return await readBoundedBody(req, MAX_INVOCATION_BODY_BYTES);
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err;
    throw new RuntimeError(413, 'ValidationError', invocationTooLargeMessage(err.limit));
  }
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Drops headers the container did not send, so writeHead never sees undefined. */
function present(headers: Record<string, string | undefined>): OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as OutgoingHttpHeaders;
}

export function createRuntimeHandler(deps: RuntimeDeps): RuntimeHandler {
  // Diagnostics go to stderr, as local/main.ts's do; LLMOPS_LOG_LEVEL like every other logger of the project.
  const logger = deps.logger ?? pino({ name: 'sagemaker-runtime', level: logLevel() }, pino.destination(2));
  const timeoutMs = deps.invocationTimeoutMs ?? DEFAULT_INVOCATION_TIMEOUT_MS;
  const callContainer = createContainerCaller();

  /** The copy of the named inference component that takes the request (IC endpoints only). */
  function servingCopy(endpoint: RuntimeEndpoint, component: string | undefined) {
    const name = endpoint.EndpointName;
    if (!endpoint.inferenceComponentBased) {
      if (component === undefined) return undefined;
      throw validationError(
        `Inference Component Name header is not allowed for endpoint ${name} of account ${deps.accountId}: it has no inference components.`,
      );
    }
    if (component === undefined) {
      throw validationError(
        'Inference Component Name header is required for endpoints to which you plan to deploy inference components. Please include Inference Component Name header or consider using SageMaker models.',
      );
    }
    const choice = deps.components?.route(name, component) ?? { kind: 'unknown-component' as const };
    if (choice.kind === 'unknown-component') {
      throw validationError(`Inference Component ${component} of account ${deps.accountId} not found on endpoint ${name}.`);
    }
    if (choice.kind === 'no-capacity') {
      deps.metrics?.noCapacity?.({ endpointName: name, variantName: choice.variantName, inferenceComponentName: choice.inferenceComponentName });
      throw validationError(
        'Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress (if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API.',
      );
    }
    return { variantName: choice.variantName, url: choice.copy.url, copyId: choice.copy.copyId, done: choice.done };
  }

  function servingInstance(endpointName: string, targetVariant: string | undefined) {
    const choice = deps.pool.pick(endpointName, targetVariant);
    if (choice) return choice;
    // The pool answers the same for an unknown variant and a variant with no live process;
    // if the endpoint can serve otherwise, the named variant is what is wrong.
    if (targetVariant && deps.pool.pick(endpointName)) {
      throw validationError(`Invalid TargetVariant: ${targetVariant} is not a production variant of endpoint ${endpointName}.`);
    }
    throw new RuntimeError(503, 'ServiceUnavailable', `No healthy instance is serving endpoint ${endpointName}. Retry the request.`);
  }

  /** Container failures that are not an HTTP answer: no connection, or past the deadline. */
  function unanswered(logs: EndpointLogs, err: unknown, call?: ContainerCall): RuntimeError {
    const timedOut = err instanceof InvocationTimeoutError || call?.timedOut;
    return modelError(logs, 0, timedOut ? INVOCATION_TIMEOUT_MESSAGE : `Could not reach container ${CONTAINER_NAME}: ${String(err)}`);
  }

  async function invoke(req: IncomingMessage, res: ServerResponse, endpoint: RuntimeEndpoint, logs: EndpointLogs, body: Buffer, stream: boolean, trace: Trace) {
    const component = headerValue(req, H.inferenceComponent);
    const copy = servingCopy(endpoint, component);
    if (!copy) return invokeInstance(req, res, logs, body, stream, servingInstance(logs.endpointName, headerValue(req, H.targetVariant)), trace);
    // The copy counts as busy until the whole response has gone out (least outstanding requests).
    res.once('close', copy.done);
    res.setHeader(H.servedByCopy, copy.copyId);
    return invokeInstance(req, res, logs, body, stream, copy, trace, component);
  }

  async function invokeInstance(
    req: IncomingMessage,
    res: ServerResponse,
    logs: EndpointLogs,
    body: Buffer,
    stream: boolean,
    instance: { variantName: string; url: string; fleet?: string },
    trace: Trace,
    inferenceComponentName?: string,
  ) {
    const { endpointName } = logs;
    trace.timing = deps.metrics?.begin({ endpointName, variantName: instance.variantName, inferenceComponentName });
    const signal = abortOnClose(res);
    if (instance.fleet) res.setHeader(H.servedByFleet, instance.fleet);
    let call: ContainerCall | undefined;
    try {
      trace.timing?.modelStarted();
      const fault = instance.fleet ? deps.fleetFault?.(instance.fleet) : undefined;
      if (fault?.latencyMs) await sleep(fault.latencyMs, undefined, { signal });
      if (fault?.fail) {
        trace.timing?.modelEnded();
        throw modelError(logs, 500, `Fault injected by the local cloud into the fleet of endpoint configuration ${instance.fleet}.`);
      }
      call = await callContainer(instance.url, {
        body,
        headers: present({
          'Content-Type': headerValue(req, 'content-type'),
          Accept: headerValue(req, stream ? H.streamAccept : 'accept'),
          'X-Amzn-SageMaker-Custom-Attributes': headerValue(req, H.customAttributes),
        }),
        timeoutMs,
        signal,
      });
    } catch (err) {
      if (signal.aborted) return;
      throw err instanceof RuntimeError ? err : unanswered(logs, err);
    }
    const { response } = call;
    const status = response.statusCode ?? 0;
    const replyHeaders = {
      [H.invokedVariant]: instance.variantName,
      'X-Amzn-SageMaker-Custom-Attributes': response.headers[H.customAttributes] as string | undefined,
    };
    if (status < 200 || status >= 300 || !stream) {
      let payload: Buffer;
      try {
        payload = await buffer(response);
      } catch (err) {
        if (signal.aborted) return;
        throw unanswered(logs, err, call);
      }
      trace.timing?.modelEnded();
      if (status < 200 || status >= 300) throw modelError(logs, status, payload.toString('utf8'));
      res.writeHead(200, present({ ...replyHeaders, 'Content-Type': response.headers['content-type'], 'Content-Length': String(payload.length) }));
      res.end(payload);
      logger.debug({ endpoint: endpointName, variant: instance.variantName, bytes: payload.length }, 'InvokeEndpoint');
      return;
    }

    // From here the 200 is sent: failures become exception frames in the stream.
    call.settle();
    res.writeHead(200, present({ ...replyHeaders, 'Content-Type': EVENT_STREAM_CONTENT_TYPE, [H.streamContentType]: response.headers['content-type'] }));
    let parts = 0;
    try {
      for await (const chunk of response) {
        res.write(payloadPartFrame(chunk as Buffer));
        parts += 1;
      }
      if (!response.complete) throw new Error('the container closed the connection before the end of the response');
      trace.timing?.modelEnded();
    } catch (err) {
      if (signal.aborted) return;
      logger.warn({ endpoint: endpointName, err }, 'response stream broken');
      res.write(
        exceptionFrame({
          type: 'ModelStreamError',
          ErrorCode: 'StreamBroken',
          Message: `An error occurred while streaming the response body from container ${CONTAINER_NAME}: ${(err as Error).message}. ${seeLogs(logs)}`,
        }),
      );
    }
    res.end();
    logger.debug({ endpoint: endpointName, variant: instance.variantName, parts }, 'InvokeEndpointWithResponseStream');
  }

  /** InvokeEndpointAsync: validated and queued here; 202 with where the result will be. */
  function acceptAsync(req: IncomingMessage, res: ServerResponse, endpoint: RuntimeEndpoint, headers: AsyncHeaders, body: Buffer): void {
    const name = endpoint.EndpointName;
    const config = endpoint.AsyncInferenceConfig;
    if (!config?.OutputConfig?.S3OutputPath) {
      throw validationError(
        `Endpoint ${name} of account ${deps.accountId} is not configured for asynchronous inference: its endpoint configuration has no AsyncInferenceConfig.`,
      );
    }
    if (!deps.asyncInvocations) {
      throw new RuntimeError(500, 'InternalFailure', 'Asynchronous inference is not available in this runtime (it has no S3 to read and write).');
    }
    const inferenceId = headers.inferenceId ?? randomUUID();
    const { S3OutputPath, S3FailurePath } = config.OutputConfig;
    const outputLocation = joinS3Uri(S3OutputPath, headers.outputPathExtension ?? '', headers.filename ?? `${inferenceId}.out`);
    const failureLocation = S3FailurePath ? joinS3Uri(S3FailurePath, headers.outputPathExtension ?? '', `${inferenceId}-error.out`) : undefined;
    deps.asyncInvocations.enqueue({
      endpointName: name,
      inferenceId,
      input: headers.inputLocation ? { location: parseS3Uri(headers.inputLocation)! } : { body },
      contentType: headerValue(req, H.streamContentType.toLowerCase()),
      accept: headerValue(req, H.streamAccept),
      customAttributes: headerValue(req, H.customAttributes),
      output: parseS3Uri(outputLocation)!,
      failure: failureLocation ? parseS3Uri(failureLocation) : undefined,
      ttlMs: (headers.ttlSeconds ?? DEFAULT_REQUEST_TTL_SECONDS) * 1000,
      timeoutMs: (headers.timeoutSeconds ?? DEFAULT_ASYNC_INVOCATION_TIMEOUT_SECONDS) * 1000,
    });
    sendJson(res, 202, { InferenceId: inferenceId }, present({ [H.outputLocation]: outputLocation, [H.failureLocation]: failureLocation }));
    logger.debug({ endpoint: name, inferenceId, outputLocation }, 'InvokeEndpointAsync queued');
  }

  return async (req, res, region) => {
    res.setHeader(H.requestId, randomUUID());
    // Set once a variant is chosen: only then does the invocation count in that variant's metrics.
    const trace: Trace = {};
    res.on('close', () => trace.timing?.end(trace.modelStatus ?? res.statusCode));
    try {
      const match = req.method === 'POST' ? ROUTE.exec((req.url ?? '').split('?')[0]) : null;
      if (!match) throw new RuntimeError(404, 'UnknownOperationException', `No SageMaker Runtime operation for ${req.method} ${req.url}`);
      const endpointName = decodeURIComponent(match[1]);
      const operation = match[2];
      const body = await invocationBody(req);
      let async: AsyncHeaders | undefined;
      if (operation === 'async-invocations') {
        try {
          async = asyncHeaders(req, body);
        } catch (err) {
          if (err instanceof AwsServiceError) throw validationError(err.message);
          throw err;
        }
      }
      const endpoint = deps.getEndpoint(endpointName);
      if (!endpoint) throw validationError(`Endpoint ${endpointName} of account ${deps.accountId} not found.`);
      if (!SERVING_STATUSES.has(endpoint.EndpointStatus)) {
        throw validationError(`Endpoint ${endpointName} of account ${deps.accountId} is not in service (status: ${endpoint.EndpointStatus}).`);
      }
      if (async) {
        acceptAsync(req, res, endpoint, async, body);
        return;
      }
      if (endpoint.AsyncInferenceConfig) {
        // AWS: an AsyncInferenceConfig means the endpoint takes asynchronous invocations only.
        throw validationError(
          `Endpoint ${endpointName} of account ${deps.accountId} is an asynchronous inference endpoint; invoke it with InvokeEndpointAsync.`,
        );
      }
      const logs = { endpointName, region, accountId: deps.accountId };
      await invoke(req, res, endpoint, logs, body, operation === 'invocations-response-stream', trace);
    } catch (err) {
      const error = err instanceof RuntimeError ? err : new RuntimeError(500, 'InternalFailure', `An internal failure occurred: ${String(err)}`);
      // A container that did not answer (status 0: timeout, connection refused) counts as a server error.
      if (error.code === 'ModelError') trace.modelStatus = Number(error.members.OriginalStatusCode) || 500;
      if (error.status >= 500 || error.code === 'ModelError') logger.warn({ err: error, url: req.url }, error.code);
      if (res.headersSent) {
        res.end(exceptionFrame({ type: 'InternalStreamFailure', Message: error.message }));
        return;
      }
      sendRuntimeError(res, error);
    }
  };
}
