// SageMaker Runtime as the local cloud serves it: InvokeEndpoint and
// InvokeEndpointWithResponseStream, routed through the container pool to a model process.
// Requests and responses carry the headers the API defines (and only those), failures use
// the API's error shapes, and the stream is AWS event-stream framing around container bytes.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import pino, { type Logger } from 'pino';
import { abortOnClose, readBody } from '../container/http-io.js';
import type { ContainerPoolApi } from '../containers/types.js';
import { createContainerCaller, InvocationTimeoutError, readAll, type ContainerCall } from './container-call.js';
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

export interface RuntimeDeps {
  pool: ContainerPoolApi;
  getEndpoint(name: string): { EndpointStatus: string; EndpointName: string } | undefined;
  accountId: string;
  /** How long a container has to answer (SageMaker's limit: 60 s). */
  invocationTimeoutMs?: number;
  logger?: Logger;
}

export type RuntimeHandler = (req: IncomingMessage, res: ServerResponse, region: string) => Promise<void>;

const DEFAULT_INVOCATION_TIMEOUT_MS = 60_000;
// An endpoint keeps serving its current fleet while it is being updated or rolled back.
const SERVING_STATUSES = new Set(['InService', 'Updating', 'SystemUpdating', 'RollingBack']);
const ROUTE = /^\/endpoints\/([^/]+)\/(invocations|invocations-response-stream|async-invocations)$/;

const H = {
  targetVariant: 'x-amzn-sagemaker-target-variant',
  customAttributes: 'x-amzn-sagemaker-custom-attributes',
  streamAccept: 'x-amzn-sagemaker-accept',
  streamContentType: 'X-Amzn-SageMaker-Content-Type',
  invokedVariant: 'x-Amzn-Invoked-Production-Variant',
  requestId: 'x-amzn-RequestId',
} as const;

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
  const logger = deps.logger ?? pino({ name: 'sagemaker-runtime', level: process.env.LLMOPS_LOG_LEVEL ?? 'info' }, pino.destination(2));
  const timeoutMs = deps.invocationTimeoutMs ?? DEFAULT_INVOCATION_TIMEOUT_MS;
  const callContainer = createContainerCaller();

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

  async function invoke(req: IncomingMessage, res: ServerResponse, logs: EndpointLogs, body: Buffer, stream: boolean) {
    const { endpointName } = logs;
    const instance = servingInstance(endpointName, headerValue(req, H.targetVariant));
    const signal = abortOnClose(res);
    let call: ContainerCall | undefined;
    try {
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
      throw unanswered(logs, err);
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
        payload = await readAll(response);
      } catch (err) {
        if (signal.aborted) return;
        throw unanswered(logs, err, call);
      }
      if (status < 200 || status >= 300) throw modelError(logs, status, payload.toString('utf8'));
      res.writeHead(200, present({ ...replyHeaders, 'Content-Type': response.headers['content-type'], 'Content-Length': String(payload.length) }));
      res.end(payload);
      logger.debug({ endpoint: endpointName, variant: instance.variantName, bytes: payload.length }, 'InvokeEndpoint');
      return;
    }

    // From here the 200 is sent: failures become exception frames in the stream.
    call.settle();
    res.writeHead(
      200,
      present({ ...replyHeaders, 'Content-Type': EVENT_STREAM_CONTENT_TYPE, [H.streamContentType]: response.headers['content-type'] }),
    );
    let parts = 0;
    try {
      for await (const chunk of response) {
        res.write(payloadPartFrame(chunk as Buffer));
        parts += 1;
      }
      if (!response.complete) throw new Error('the container closed the connection before the end of the response');
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

  return async (req, res, region) => {
    res.setHeader(H.requestId, randomUUID());
    try {
      const match = req.method === 'POST' ? ROUTE.exec((req.url ?? '').split('?')[0]) : null;
      if (!match) throw new RuntimeError(404, 'UnknownOperationException', `No SageMaker Runtime operation for ${req.method} ${req.url}`);
      const endpointName = decodeURIComponent(match[1]);
      const operation = match[2];
      const body = await readBody(req);
      const endpoint = deps.getEndpoint(endpointName);
      if (!endpoint) throw validationError(`Endpoint ${endpointName} of account ${deps.accountId} not found.`);
      if (!SERVING_STATUSES.has(endpoint.EndpointStatus)) {
        throw validationError(
          `Endpoint ${endpointName} of account ${deps.accountId} is not in service (status: ${endpoint.EndpointStatus}).`,
        );
      }
      if (operation === 'async-invocations') {
        throw validationError(`Endpoint ${endpointName} is not configured for asynchronous inference in the local cloud.`);
      }
      const logs = { endpointName, region, accountId: deps.accountId };
      await invoke(req, res, logs, body, operation === 'invocations-response-stream');
    } catch (err) {
      const error =
        err instanceof RuntimeError ? err : new RuntimeError(500, 'InternalFailure', `An internal failure occurred: ${String(err)}`);
      if (error.status >= 500 || error.code === 'ModelError') logger.warn({ err: error, url: req.url }, error.code);
      if (res.headersSent) {
        res.end(exceptionFrame({ type: 'InternalStreamFailure', Message: error.message }));
        return;
      }
      sendRuntimeError(res, error);
    }
  };
}
