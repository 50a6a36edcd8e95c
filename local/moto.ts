// moto serves every AWS API the local cloud does not emulate itself (IAM, STS, S3, Application
// Auto Scaling, CloudWatch): we start it on a free loopback port and forward requests to it
// untouched (method, path, query, headers including Authorization, body), so each SDK sees
// moto's responses exactly.
//
// moto keeps state in memory only. To make its state survive a restart like ours does, every
// successful state-changing request is appended to a journal in the state dir and replayed
// into the fresh moto at the next start. Reads (Get*/List*/Describe*, S3 GET/HEAD) are not
// journaled, so polling does not grow it. `POST /moto-api/reset` clears it. Entries are sealed
// (state-cipher.ts): a CreateSecret or PutSecretValue body is a secret, and the journal is 0600.
//
// moto runs with its global allow-all CORS off (MOTO_DISABLE_GLOBAL_CORS): which browser
// origins may call is decided once for every service, by request-guard.ts.
import { appendFileSync, chmodSync, existsSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { freePort, httpReady, type ManagedProcess, PortTakenError, retryWhilePortTaken, startProcess, waitUntil, watchStartup } from '../dev/processes.js';
import { motoServer } from '../dev/tools.js';
import { correctMotoError } from './moto-corrections.js';
import { sendWireError } from './protocol-errors.js';
import { operationName, serviceOf } from './request-identity.js';
import { BodyTooLargeError, MAX_CONTROL_PLANE_BODY_BYTES } from './request-guard.js';
import { PRIVATE_FILE_MODE, StateCipher } from './state-cipher.js';

export interface Moto {
  url: string;
  /** Proxies one request to moto and streams the answer back. */
  forward(req: IncomingMessage, res: ServerResponse): void;
  stop(): Promise<void>;
}

interface JournalEntry {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** base64 */
  body: string;
}

const READ_OPERATION = /^(Get|List|Describe|Head|Lookup|Search|Simulate|Decode)/;

function changesState(method: string, path: string, headers: IncomingHttpHeaders, body: Buffer): boolean {
  if (path.startsWith('/moto-api/')) return false;
  const op = operationName(path, headers, body);
  if (op !== undefined) return !READ_OPERATION.test(op);
  return !['GET', 'HEAD', 'OPTIONS'].includes(method);
}

/** Headers that describe the hop to us, not the request, and must not be forwarded as-is. */
function forwardableHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const { connection: _c, 'keep-alive': _k, expect: _e, ...rest } = headers;
  return rest;
}

/** The file operations the journal needs; injectable so a full disk can be simulated in tests. */
export interface JournalFs {
  appendFileSync(file: string, data: string, options: { mode: number }): void;
  readFileSync(file: string, encoding: 'utf8'): string;
  truncateSync(file: string, length: number): void;
  existsSync(file: string): boolean;
  rmSync(file: string, opts: { force: boolean }): void;
}

const nodeFs: JournalFs = { appendFileSync, readFileSync, truncateSync, existsSync, rmSync };

/**
 * One JSON line per state-changing request. A crash (or a full disk) in the middle of an append
 * leaves a torn last line: it is dropped with a warning at the next start, and cut off the file
 * so the next append starts on a fresh line. A line that does not parse anywhere else means the
 * file was damaged some other way, and replaying past it would rebuild a different state, so
 * the start fails naming the line.
 */
class MotoJournal {
  constructor(
    private readonly file: string,
    private readonly cipher: StateCipher,
    private readonly fs: JournalFs,
    private readonly log: Logger,
  ) {}

  /** Throws (ENOSPC, EIO...) when the entry could not be written; the caller fails the request. */
  append(entry: JournalEntry): void {
    this.fs.appendFileSync(this.file, `${this.cipher.sealJson(entry)}\n`, { mode: PRIVATE_FILE_MODE });
  }

  clear(): void {
    this.fs.rmSync(this.file, { force: true });
  }

  entries(): JournalEntry[] {
    if (!this.fs.existsSync(this.file)) return [];
    const text = this.fs.readFileSync(this.file, 'utf8');
    const lines = text.split('\n');
    const entries: JournalEntry[] = [];
    let goodLength = 0;
    for (const [index, line] of lines.entries()) {
      if (line === '') continue;
      try {
        // Lines written in clear by an older local cloud still replay.
        entries.push(StateCipher.isSealed(line) ? this.cipher.openJson<JournalEntry>(line) : (JSON.parse(line) as JournalEntry));
        goodLength += Buffer.byteLength(line) + 1;
      } catch (err) {
        const last = lines.slice(index + 1).every((rest) => rest === '');
        if (!last) {
          throw new Error(`${this.file} line ${index + 1} is not a journal entry (${(err as Error).message}); move the file away to start with an empty moto`);
        }
        this.log.warn({ file: this.file, line: index + 1 }, 'dropping the torn last line of the moto journal (an append was cut short)');
        this.fs.truncateSync(this.file, goodLength);
      }
    }
    return entries;
  }
}

function send(port: number, agent: Agent, entry: JournalEntry): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(entry.body, 'base64');
    const req = request({ host: '127.0.0.1', port, agent, method: entry.method, path: entry.path, headers: forwardableHeaders(entry.headers) }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface MotoOptions {
  stateDir: string;
  log: Logger;
  /** Seals the journal; default the state dir's key. */
  cipher?: StateCipher;
  /** Bodies (S3 objects aside) past this are refused while they stream in. */
  maxBodyBytes?: (req: IncomingMessage) => number;
  /** Default node:fs; tests pass one whose append fails. */
  journalFs?: JournalFs;
  /** Where moto_server should listen; default a free loopback port. Tests pass a taken one. */
  pickPort?: () => Promise<number>;
}

/** moto_server on a free loopback port, answering. */
function spawnMoto(logFile: string, log: Logger, pickPort: () => Promise<number>): Promise<{ port: number; proc: ManagedProcess }> {
  return retryWhilePortTaken(
    async () => {
      const port = await pickPort();
      const proc = startProcess(motoServer(), ['-H', '127.0.0.1', '-p', String(port)], {
        logFile,
        env: { ...process.env, MOTO_DISABLE_GLOBAL_CORS: 'true' },
      });
      const startup = watchStartup(proc);
      try {
        await waitUntil('moto_server', () => httpReady(`http://127.0.0.1:${port}/moto-api/`), { process: proc, timeoutMs: 60_000 });
        return { port, proc };
      } catch (err) {
        const failure = await startup.failed();
        const error = new Error(`${(err as Error).message}${failure.tail} (log: ${logFile})`, { cause: err });
        throw failure.portTaken ? new PortTakenError(port, error) : error;
      }
    },
    { onTaken: (taken) => log.warn({ port: taken.port }, 'moto_server: its port was taken before it bound; trying another') },
  );
}

export async function startMoto({
  stateDir,
  log,
  cipher,
  maxBodyBytes = () => MAX_CONTROL_PLANE_BODY_BYTES,
  journalFs = nodeFs,
  pickPort = freePort,
}: MotoOptions): Promise<Moto> {
  // Read the journal first: one that cannot be replayed should fail before moto is spawned.
  const journal = new MotoJournal(join(stateDir, 'moto-journal.jsonl'), cipher ?? StateCipher.forStateDir(stateDir), journalFs, log);
  const entries = journal.entries();
  const logFile = join(stateDir, 'moto.log');
  const { port, proc } = await spawnMoto(logFile, log, pickPort);
  const url = `http://127.0.0.1:${port}`;
  chmodSync(logFile, PRIVATE_FILE_MODE); // opened by now: moto has answered

  const agent = new Agent({ keepAlive: true });

  for (const entry of entries) {
    const status = await send(port, agent, entry);
    if (status >= 300) log.warn({ method: entry.method, path: entry.path, status }, 'moto journal entry did not replay cleanly');
  }
  if (entries.length) log.info({ entries: entries.length }, 'replayed moto journal');
  log.info({ url, pid: proc.child.pid }, 'moto started');

  function forward(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    // Only requests that may change state need their body kept for the journal.
    const keepBody = method !== 'GET' && method !== 'HEAD';
    const chunks: Buffer[] = [];
    const upstream = request({ host: '127.0.0.1', port, agent, method, path, headers: forwardableHeaders(req.headers) }, (answer) => {
      const { connection: _c, 'keep-alive': _k, ...headers } = answer.headers;
      const amzTarget = req.headers['x-amz-target'] as string | undefined;
      if ((answer.statusCode ?? 0) >= 400 && amzTarget) {
        // Error bodies are small: buffer them so moto's deviations from AWS can be corrected.
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('end', () => {
          const original = Buffer.concat(parts).toString('utf8');
          const corrected = correctMotoError(amzTarget, answer.statusCode!, original);
          const body = corrected ?? original;
          const { 'content-length': _len, ...rest } = headers;
          const type = corrected ? { 'x-amzn-errortype': JSON.parse(corrected).__type } : {};
          res.writeHead(answer.statusCode!, answer.statusMessage, { ...rest, ...type, 'content-length': Buffer.byteLength(body) }).end(body);
        });
        return;
      }
      const status = answer.statusCode ?? 502;
      if (path.startsWith('/moto-api/reset') && status < 300) journal.clear();
      // The request body is fully sent by the time moto answers, so it is known here.
      const body = Buffer.concat(chunks);
      if (status >= 300 || !changesState(method, path, req.headers, body)) {
        res.writeHead(status, answer.statusMessage, headers);
        answer.pipe(res);
        return;
      }
      // A change is acknowledged only once it is journalled: the answer (small for writes)
      // waits for the append, and an append that fails (full disk) fails the request with a
      // 5xx instead of the process. moto has applied the change; see docs/local-cloud.md.
      const parts: Buffer[] = [];
      answer.on('data', (c: Buffer) => parts.push(c));
      answer.on('end', () => {
        try {
          journal.append({ method, path, headers: req.headers, body: body.toString('base64') });
        } catch (err) {
          log.error({ err, method, path }, 'could not journal a moto change');
          sendWireError(req, res, serviceOf(req), {
            code: 'InternalFailure',
            message: `The local cloud could not record this change: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
            status: 500,
          });
          return;
        }
        res.writeHead(status, answer.statusMessage, headers).end(Buffer.concat(parts));
      });
    });
    upstream.on('error', (err) => {
      if (err instanceof BodyTooLargeError) return; // answered with a 413 already
      log.error({ err, method, path }, 'forwarding to moto failed');
      if (!res.headersSent) {
        sendWireError(req, res, serviceOf(req), { code: 'ServiceUnavailable', message: `moto is not answering: ${err.message}`, status: 503 });
      } else {
        res.destroy(err);
      }
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    // A body sent without Content-Length is bounded as it arrives (request-guard.ts checked the declared ones).
    const limit = maxBodyBytes(req);
    let seen = 0;
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit && !res.headersSent) {
        req.unpipe(upstream);
        upstream.destroy(new BodyTooLargeError(limit));
        const body = JSON.stringify({ __type: 'RequestEntityTooLarge', message: new BodyTooLargeError(limit).message });
        res.writeHead(413, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'RequestEntityTooLarge', Connection: 'close' }).end(body);
        chunks.length = 0;
        return;
      }
      if (keepBody && seen <= limit) chunks.push(chunk);
    });
    req.pipe(upstream);
  }

  return {
    url,
    forward,
    async stop() {
      agent.destroy();
      await proc.stop();
    },
  };
}
