// Fault injection and AWS-style rate limiting for the local cloud, all off by default, so code
// can be tried against the failures AWS produces: throttling, 5xx, slow answers, dropped
// connections, endpoints whose container fails its health check or crashes after start.
//
// Request faults:  LOCAL_CLOUD_FAULTS / `--faults`, e.g.
//   "throttle=0.2,5xx=0.05,latencyMs=50,drop=0.01,seed=7;services=sagemaker,s3;operations=CreateEndpoint"
//   or the same as JSON: {"throttle":0.2,"5xx":0.05,"services":["sagemaker","s3"]}
// Rate limit:      LOCAL_CLOUD_RATE_LIMIT / `--rate-limit`: requests per second per account
//                  (access key) and operation, a token bucket with a burst of the same size.
// Endpoint faults: LOCAL_CLOUD_ENDPOINT_FAULTS / `--endpoint-faults`, "name=fail-health-check,other=crash-after-start",
//                  or at run time `POST /_localcloud/faults {"endpoints": {...}}` from loopback.
// Fleet faults:    LOCAL_CLOUD_FLEET_FAULTS (environment only), JSON keyed by endpoint config name,
//                  {"cfg-v2": {"5xx": 1, "latencyMs": 200}}: invocations served by the fleet of that
//                  config fail as a container 500 (ModelError) or answer later, so a rollout's new
//                  fleet alone can be made to trip its alarms; at run time `{"fleets": {...}}`.
// Faults are keyed by endpoint name on the local-cloud side: a model's Environment never
// controls the host. Draws come from one seeded generator, so a run is repeatable for a given
// order of requests. See docs/local-cloud.md "Fault injection".
import type { IncomingMessage, ServerResponse } from 'node:http';
import { buffer } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { seeded } from '../dev/seeded-random.js';
import { pingFailureReason } from './instances/instance.js';
import { ContainerStartError, type ContainerPoolApi, type Fleet } from './instances/types.js';
import { sendWireError, type WireError } from './protocol-errors.js';
import { SERVICES, credentialScope, operationName, serviceOf, type ServiceName } from './request-identity.js';
import { LOCAL_CLOUD_ACCESS_KEY_ID } from './s3.js';
import { localCloudConfig } from '../common/config.js';

const rate = z.number().min(0).max(1);
const requestFaultsSchema = z.strictObject({
  throttle: rate.default(0),
  '5xx': rate.default(0),
  drop: rate.default(0),
  latencyMs: z.number().int().min(0).max(60_000).default(0),
  seed: z.number().int().default(1),
  /** Only these services; all when absent. */
  services: z.array(z.enum(SERVICES)).min(1).optional(),
  /** Only these operations (as named in X-Amz-Target, the RPC v2 path or `?Action=`); all when absent. */
  operations: z.array(z.string().min(1)).min(1).optional(),
});
export type RequestFaults = z.output<typeof requestFaultsSchema>;

export const ENDPOINT_FAULTS = ['fail-health-check', 'crash-after-start'] as const;
export type EndpointFault = (typeof ENDPOINT_FAULTS)[number];
const endpointFaultsSchema = z.record(z.string().min(1), z.enum(ENDPOINT_FAULTS));

const fleetFaultSchema = z.strictObject({ '5xx': rate.default(0), latencyMs: z.number().int().min(0).max(60_000).default(0) });
const fleetFaultsSchema = z.record(z.string().min(1), fleetFaultSchema);
export type FleetFault = z.output<typeof fleetFaultSchema>;

export interface FaultSettings {
  requests?: RequestFaults;
  /** Requests per second per account and operation; undefined = unlimited. */
  rateLimit?: number;
  endpoints?: Record<string, EndpointFault>;
  /** Invocation faults per endpoint config name: its fleet's answers fail (5xx) or come late. */
  fleets?: Record<string, Partial<FleetFault>>;
}

export class FaultConfigError extends Error {
  override name = 'FaultConfigError';
}

function checked<S extends z.ZodType>(schema: S, what: string, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`).join('; ');
  throw new FaultConfigError(`${what} is not valid: ${problems}`);
}

/** `key=value,...;services=a,b;operations=X,Y` (or JSON) → request faults; numbers stay numbers. */
export function parseRequestFaults(spec: string, what = 'LOCAL_CLOUD_FAULTS'): RequestFaults {
  const text = spec.trim();
  if (text.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new FaultConfigError(`${what} is not valid JSON: ${(err as Error).message}`);
    }
    return checked(requestFaultsSchema, what, json);
  }
  const raw: Record<string, unknown> = {};
  for (const segment of text
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const list = /^(services|operations)=(.*)$/.exec(segment);
    if (list) {
      raw[list[1]] = list[2]
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      continue;
    }
    for (const pair of segment
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [key, value, extra] = pair.split('=');
      if (value === undefined || extra !== undefined) throw new FaultConfigError(`${what}: "${pair}" is not key=value`);
      raw[key] = Number.isNaN(Number(value)) ? value : Number(value);
    }
  }
  return checked(requestFaultsSchema, what, raw);
}

/** `name=fault,...` (or JSON) → endpoint faults. */
export function parseEndpointFaults(spec: string, what = 'LOCAL_CLOUD_ENDPOINT_FAULTS'): Record<string, EndpointFault> {
  const text = spec.trim();
  if (text.startsWith('{')) {
    try {
      return checked(endpointFaultsSchema, what, JSON.parse(text));
    } catch (err) {
      if (err instanceof FaultConfigError) throw err;
      throw new FaultConfigError(`${what} is not valid JSON: ${(err as Error).message}`);
    }
  }
  const raw = Object.fromEntries(
    text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((pair) => pair.split('=')),
  );
  return checked(endpointFaultsSchema, what, raw);
}

/** JSON keyed by endpoint config name → fleet faults. */
export function parseFleetFaults(spec: string, what = 'LOCAL_CLOUD_FLEET_FAULTS'): Record<string, FleetFault> {
  let json: unknown;
  try {
    json = JSON.parse(spec);
  } catch (err) {
    throw new FaultConfigError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  return checked(fleetFaultsSchema, what, json);
}

export function parseRateLimit(value: string, what = 'LOCAL_CLOUD_RATE_LIMIT'): number {
  return checked(z.number().positive(), what, Number(value));
}

/** The settings the environment asks for; the CLI passes its flags through the same parsers. */
export function faultSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): FaultSettings {
  const {
    LOCAL_CLOUD_FAULTS: requests,
    LOCAL_CLOUD_RATE_LIMIT: rateLimit,
    LOCAL_CLOUD_ENDPOINT_FAULTS: endpoints,
    LOCAL_CLOUD_FLEET_FAULTS: fleets,
  } = localCloudConfig.read(env);
  return {
    requests: requests ? parseRequestFaults(requests) : undefined,
    rateLimit: rateLimit ? parseRateLimit(rateLimit) : undefined,
    endpoints: endpoints ? parseEndpointFaults(endpoints) : undefined,
    fleets: fleets ? parseFleetFaults(fleets) : undefined,
  };
}

/** The throttling error each protocol's SDK classifies as throttling (and retries with backoff). */
function throttlingError(service: ServiceName | undefined): WireError {
  if (service === 's3') return { code: 'SlowDown', message: 'Please reduce your request rate.', status: 503 };
  if (service === 'iam' || service === 'sts') return { code: 'Throttling', message: 'Rate exceeded', status: 400 };
  return { code: 'ThrottlingException', message: 'Rate exceeded', status: 400 };
}

const ADMIN_PATH = '/_localcloud/faults';
const isLoopback = (address: string | undefined) => address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';

export class FaultInjector {
  private requests: RequestFaults | undefined;
  private random: () => number;
  private readonly endpoints = new Map<string, EndpointFault>();
  private fleets = new Map<string, FleetFault>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** How many of each fault were injected, for tests and the admin route to show they happened. */
  readonly injected = { throttle: 0, '5xx': 0, drop: 0, rateLimit: 0, fleet5xx: 0, fleetLatency: 0 };

  constructor(private readonly settings: FaultSettings = {}) {
    this.requests = settings.requests;
    this.random = seeded(settings.requests?.seed ?? 1);
    for (const [name, fault] of Object.entries(settings.endpoints ?? {})) this.endpoints.set(name, fault);
    if (settings.fleets) this.fleets = new Map(Object.entries(checked(fleetFaultsSchema, 'fleets', settings.fleets)));
  }

  /** The fault for one invocation served by the fleet of `endpointConfigName` (the runtime asks per request). */
  fleetFault(endpointConfigName: string): { latencyMs: number; fail: boolean } | undefined {
    const fault = this.fleets.get(endpointConfigName);
    if (!fault) return undefined;
    const fail = fault['5xx'] > 0 && this.random() < fault['5xx'];
    if (fail) this.injected.fleet5xx++;
    if (fault.latencyMs) this.injected.fleetLatency++;
    return { latencyMs: fault.latencyMs, fail };
  }

  /**
   * Called first for every request. Answers the admin route, or injects a fault, and then
   * returns true (the request is dealt with); otherwise false, after any added latency.
   */
  async intercept(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (req.url?.split('?')[0] === ADMIN_PATH) {
      await this.admin(req, res);
      return true;
    }
    // The local cloud's own S3 calls (transform jobs, async inference) stand for SageMaker's
    // internal traffic, which AWS retries out of sight: faults target clients only.
    if (credentialScope(req).accessKeyId === LOCAL_CLOUD_ACCESS_KEY_ID) return false;
    const service = serviceOf(req);
    const operation = operationName(req.url ?? '/', req.headers);
    if (this.rateLimited(req, service, operation)) {
      this.injected.rateLimit++;
      sendWireError(req, res, service, throttlingError(service));
      return true;
    }
    const faults = this.requests;
    if (!faults || !this.applies(faults, service, operation)) return false;
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    const draw = this.random();
    if (draw < faults.drop) {
      // Before anything is processed: the client sees ECONNRESET and may safely retry.
      this.injected.drop++;
      req.socket.destroy();
      return true;
    }
    if (draw < faults.drop + faults.throttle) {
      this.injected.throttle++;
      sendWireError(req, res, service, throttlingError(service));
      return true;
    }
    if (draw < faults.drop + faults.throttle + faults['5xx']) {
      this.injected['5xx']++;
      const unavailable = this.random() < 0.5;
      sendWireError(req, res, service, {
        // S3 names its 500 InternalError; the other services InternalFailure.
        code: unavailable ? 'ServiceUnavailable' : service === 's3' ? 'InternalError' : 'InternalFailure',
        message: unavailable ? 'Service is unavailable. Please try again.' : 'We encountered an internal error. Please try again.',
        status: unavailable ? 503 : 500,
      });
      return true;
    }
    return false;
  }

  private applies(faults: RequestFaults, service: ServiceName | undefined, operation: string | undefined): boolean {
    // Only AWS service requests: not /moto-api/ or anything else unsigned and unknown.
    if (!service || (faults.services && !faults.services.includes(service))) return false;
    if (faults.operations && (!operation || !faults.operations.includes(operation))) return false;
    return true;
  }

  /** A token bucket per account and operation, refilled continuously at `rateLimit` per second. */
  private rateLimited(req: IncomingMessage, service: ServiceName | undefined, operation: string | undefined): boolean {
    const limit = this.settings.rateLimit;
    if (limit === undefined || !service) return false;
    const key = `${credentialScope(req).accessKeyId ?? 'anonymous'} ${service} ${operation ?? req.method}`;
    const now = performance.now();
    // A burst of `limit` requests (at least one) passes before the rate applies.
    const burst = Math.max(1, limit);
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * limit);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return true;
    bucket.tokens -= 1;
    return false;
  }

  /** GET: the current settings and counts. POST: replaces the request faults and/or endpoint faults given. */
  private async admin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    if (!isLoopback(req.socket.remoteAddress)) return void reply(403, { message: `${ADMIN_PATH} answers loopback clients only` });
    if (req.method === 'POST') {
      try {
        const body = JSON.parse((await buffer(req)).toString('utf8') || '{}') as { requests?: unknown; endpoints?: unknown; fleets?: unknown };
        const requests = body.requests === undefined ? undefined : body.requests === null ? null : checked(requestFaultsSchema, 'requests', body.requests);
        const endpoints = body.endpoints === undefined ? undefined : checked(endpointFaultsSchema, 'endpoints', body.endpoints);
        const fleets = body.fleets === undefined ? undefined : checked(fleetFaultsSchema, 'fleets', body.fleets);
        if (fleets) this.fleets = new Map(Object.entries(fleets));
        if (requests !== undefined) {
          this.requests = requests ?? undefined;
          this.random = seeded(requests?.seed ?? 1);
        }
        if (endpoints) {
          this.endpoints.clear();
          for (const [name, fault] of Object.entries(endpoints)) this.endpoints.set(name, fault);
        }
      } catch (err) {
        return void reply(400, { message: (err as Error).message });
      }
    } else if (req.method !== 'GET') {
      return void reply(405, { message: `${ADMIN_PATH} takes GET or POST` });
    }
    reply(200, {
      requests: this.requests ?? null,
      rateLimit: this.settings.rateLimit ?? null,
      endpoints: Object.fromEntries(this.endpoints),
      fleets: Object.fromEntries(this.fleets),
      injected: this.injected,
    });
  }

  /**
   * The pool as endpoints with a fault see it: `fail-health-check` fails the launch the way a
   * container that never answers /ping does (at once, not after the timeout);
   * `crash-after-start` kills the fleet's processes (SIGKILL) right after it starts serving.
   */
  wrapPool(pool: ContainerPoolApi): ContainerPoolApi {
    const faultOf = (name: string) => this.endpoints.get(name);
    return {
      async launch(endpointName, variants, opts) {
        if (faultOf(endpointName) === 'fail-health-check') {
          throw new ContainerStartError(pingFailureReason(variants[0]?.variantName ?? 'AllTraffic'));
        }
        return pool.launch(endpointName, variants, opts);
      },
      async activate(endpointName: string, fleet: Fleet) {
        await pool.activate(endpointName, fleet);
        if (faultOf(endpointName) !== 'crash-after-start') return;
        for (const variant of fleet.variants) {
          for (const { pid } of variant.instances) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }
        }
      },
      shift: (endpointName, fleet, share) => pool.shift(endpointName, fleet, share),
      deactivate: (endpointName) => pool.deactivate(endpointName),
      pick: (endpointName, targetVariant) => pool.pick(endpointName, targetVariant),
      stopAll: () => pool.stopAll(),
    };
  }
}
