// One POST /invocations to a model process, with SageMaker's deadline. Connections are kept
// alive across requests, as SageMaker's front end keeps them to its containers. It sits with
// the instances it calls, below both callers: the runtime routes and the transform runner.
import { Agent, request, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';

export class InvocationTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no complete response within ${timeoutMs} ms`);
    this.name = 'InvocationTimeoutError';
  }
}

export interface ContainerCall {
  response: IncomingMessage;
  /** Stops the deadline (once the part of the response it covers has arrived). */
  settle(): void;
  /** True once the deadline destroyed the call; later errors are its consequence. */
  readonly timedOut: boolean;
}

export interface ContainerCallOptions {
  body: Buffer;
  headers: OutgoingHttpHeaders;
  /** Destroys the call, whether waiting for headers or reading the body, once it passes. */
  timeoutMs: number;
  signal: AbortSignal;
}

export function createContainerCaller(): (url: string, opts: ContainerCallOptions) => Promise<ContainerCall> {
  const agent = new Agent({ keepAlive: true });
  return (url, { body, headers, timeoutMs, signal }) =>
    new Promise((resolve, reject) => {
      const req = request(`${url}/invocations`, {
        method: 'POST',
        agent,
        signal,
        headers: { ...headers, 'Content-Length': body.length },
      });
      let timedOut = false;
      const deadline = setTimeout(() => {
        timedOut = true;
        req.destroy(new InvocationTimeoutError(timeoutMs));
      }, timeoutMs);
      const settle = () => clearTimeout(deadline);
      req.once('response', (response) => {
        response.once('end', settle);
        response.once('error', settle);
        resolve({
          response,
          settle,
          get timedOut() {
            return timedOut;
          },
        });
      });
      // After a response, a destroyed request reports here too; the response stream carries it.
      req.on('error', (err) => {
        settle();
        reject(err);
      });
      req.end(body);
    });
}
