// The SageMaker container contract over HTTP: GET /ping answers 200 only once the model is
// loaded, POST /invocations goes to the image family's handler. Everything else is the
// family's business. Each response names the instance that served it, so load balancing
// across processes can be observed from outside.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { buffer } from 'node:stream/consumers';
import type { Logger } from 'pino';
import { abortOnClose, sendJson, sendText } from './http-io.js';
import type { BatchLayout, TextGenerator } from './text-generator.js';

export interface Invocation {
  body: Buffer;
  headers: IncomingHttpHeaders;
  /** Aborted when the caller disconnects. */
  signal: AbortSignal;
}

/** One image family's request/response formats (tgi.ts, vllm.ts, lmi.ts). */
export interface InvocationHandler {
  invoke(invocation: Invocation, res: ServerResponse): Promise<void>;
}

/** What an image family needs to run: its settings decide the batch layout before a handler exists. */
export interface FamilyRuntime {
  configure(
    env: NodeJS.ProcessEnv,
    trainContextSize: number,
  ): { layout: BatchLayout; createHandler(generator: TextGenerator, logger: Logger): InvocationHandler };
}

export interface ContainerServer {
  server: Server;
  /** Switches /ping to healthy and starts accepting invocations. */
  ready(handler: InvocationHandler): void;
  listen(port: number): Promise<void>;
  close(): Promise<void>;
}

export const INSTANCE_HEADER = 'X-Local-Instance';
export const PID_HEADER = 'X-Local-Pid';
/** Local-only: the prompt a chat template rendered (URI-encoded), so a test can see the template was applied. */
export const RENDERED_PROMPT_HEADER = 'X-Local-Rendered-Prompt';

export function createContainerServer(instanceId: string, logger: Logger): ContainerServer {
  let handler: InvocationHandler | undefined;
  const server = createServer(async (req, res) => {
    res.setHeader(INSTANCE_HEADER, instanceId);
    res.setHeader(PID_HEADER, String(process.pid));
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (path === '/ping' && (req.method === 'GET' || req.method === 'HEAD')) {
        if (handler) sendText(res, 200, '');
        else sendText(res, 503, 'model is loading');
        return;
      }
      if (path === '/invocations' && req.method === 'POST') {
        const body = await buffer(req);
        if (!handler) {
          sendText(res, 503, 'model is loading');
          return;
        }
        await handler.invoke({ body, headers: req.headers, signal: abortOnClose(res) }, res);
        return;
      }
      sendText(res, 404, 'Not Found');
    } catch (err) {
      logger.error({ err, path }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: String(err), error_type: 'internal' });
      else res.destroy(err as Error);
    }
  });
  return {
    server,
    ready(h) {
      handler = h;
    },
    listen(port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
