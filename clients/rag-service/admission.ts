// Everything the RAG service checks before it starts a workflow, in this order: API key
// (x-api-key), per-key rate limit (token bucket), body size, JSON, query length, the ragQuery
// input schema, the key's grant (endpoint and collection), the endpoint InService. Each refusal is an HttpError naming what was wrong;
// nothing has run yet when one is thrown.
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { endpointNameSchema, inferenceComponentNameSchema } from '../../common/sagemaker-names.js';
import { InvalidInputError, parseInput } from '../../common/input-parsing.js';
import { ragQueryInputSchema, type RagQuerySpec } from '../../common/rag-input.js';
import { apiKeyMatcher, checkApiKeyGrants, type ApiKeyGrant } from './api-keys.js';
import { EndpointStatusCache, type EndpointState } from './endpoint-status.js';
import { errorMessage, HttpError, readBody, type RequestContext } from './http.js';

export interface AdmissionOptions {
  sagemaker: SageMakerClient;
  /** Accepted values of the x-api-key header, each with what it may query. At least one; keys never logged. */
  apiKeys: ApiKeyGrant[];
  /** Sustained requests per minute per API key (default 60). */
  rateLimitPerMinute?: number;
  /** Requests a key may make at once before the rate applies (default: rateLimitPerMinute). */
  rateLimitBurst?: number;
  /** Default 16 KiB. */
  maxBodyBytes?: number;
  /** Default 2000, the ragQuery contract's own maximum. */
  maxQueryChars?: number;
  /** How long a DescribeEndpoint answer is reused (default 5 s). */
  endpointStatusTtlMs?: number;
  /**
   * Endpoint name → the inference component a request to it invokes when the request names
   * none (AWS requires one on an inference-component endpoint). Other endpoints: none.
   */
  inferenceComponents?: Record<string, string>;
}

/** What admission allows when the options do not say. */
export const ADMISSION_DEFAULTS = { rateLimitPerMinute: 60, maxBodyBytes: 16 * 1024, maxQueryChars: 2000 } as const;

/** Admits one request (the caller's key index goes into `ctx`) and returns its ragQuery input. */
export type Admission = (req: IncomingMessage, ctx: RequestContext, stream: boolean) => Promise<RagQuerySpec>;

/** The HTTP body: the ragQuery input minus what only the service decides (prepareOnly). */
const ragRequestSchema = ragQueryInputSchema.omit({ prepareOnly: true });
const serviceDefaultsSchema = z.strictObject({ inferenceComponents: z.record(endpointNameSchema, inferenceComponentNameSchema) });

/** One bucket per API key: `burst` tokens, refilled at `perMinute` per minute. */
class TokenBuckets {
  private readonly buckets = new Map<number, { tokens: number; at: number }>();
  constructor(
    private readonly perMinute: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes a token; when there is none, how many seconds until there is. */
  take(key: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const now = this.now();
    const perMs = this.perMinute / 60_000;
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * perMs);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000)) };
  }
}

/** `endpointStatus`: the status cache, shared with /readyz (one is made when not given). */
export function createAdmission(opts: AdmissionOptions, endpointStatus = new EndpointStatusCache(opts.sagemaker, opts.endpointStatusTtlMs ?? 5000)): Admission {
  const grants = checkApiKeyGrants(opts.apiKeys);
  // The service's own configuration: a bad component name fails at start, not per request.
  const { inferenceComponents } = parseInput(serviceDefaultsSchema, 'RAG service', { inferenceComponents: opts.inferenceComponents ?? {} });
  const maxBodyBytes = opts.maxBodyBytes ?? ADMISSION_DEFAULTS.maxBodyBytes;
  const maxQueryChars = opts.maxQueryChars ?? ADMISSION_DEFAULTS.maxQueryChars;
  const perMinute = opts.rateLimitPerMinute ?? ADMISSION_DEFAULTS.rateLimitPerMinute;
  const matchKey = apiKeyMatcher(grants);
  const buckets = new TokenBuckets(perMinute, opts.rateLimitBurst ?? perMinute);

  return async (req, ctx, stream) => {
    const presented = req.headers['x-api-key'];
    const key = typeof presented === 'string' && presented ? matchKey(presented) : -1;
    if (key < 0) {
      req.resume();
      throw new HttpError(401, 'unauthorized', 'A valid API key is required in the x-api-key header', { 'www-authenticate': 'ApiKey header="x-api-key"' });
    }
    ctx.key = key;
    const taken = buckets.take(key);
    if (!taken.ok) {
      req.resume();
      throw new HttpError(
        429,
        'rate_limited',
        `Rate limit of ${perMinute} requests per minute exceeded for this API key; retry after ${taken.retryAfterSeconds} s`,
        {
          'retry-after': String(taken.retryAfterSeconds),
        },
      );
    }
    const text = await readBody(req, maxBodyBytes);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new HttpError(400, 'invalid_json', `The request body is not valid JSON: ${errorMessage(err)}`);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new HttpError(400, 'invalid_json', 'The request body must be a JSON object such as {"query": "..."}');
    const query = (body as { query?: unknown }).query;
    if (typeof query === 'string' && query.length > maxQueryChars) {
      throw new HttpError(400, 'query_too_long', `query: must be at most ${maxQueryChars} characters (got ${query.length})`);
    }
    const grant = grants[key];
    let spec: RagQuerySpec;
    try {
      const parsed = parseInput(ragRequestSchema, 'ragQuery', { endpointName: grant.endpoints[0], collection: grant.collections[0], ...body });
      const inferenceComponentName = parsed.inferenceComponentName ?? inferenceComponents[parsed.endpointName];
      spec = { ...parsed, ...(inferenceComponentName ? { inferenceComponentName } : {}), prepareOnly: stream };
    } catch (err) {
      if (err instanceof InvalidInputError) throw new HttpError(400, 'invalid_input', err.problems.join('; '));
      throw err;
    }
    // Before the endpoint check, so a key learns nothing about endpoints it may not use.
    const { endpoints, collections } = grant;
    if (!endpoints.includes(spec.endpointName)) {
      throw new HttpError(403, 'forbidden', `endpointName: this API key may not query endpoint ${spec.endpointName}; it may query ${endpoints.join(', ')}`);
    }
    if (!collections.includes(spec.collection)) {
      throw new HttpError(403, 'forbidden', `collection: this API key may not query collection ${spec.collection}; it may query ${collections.join(', ')}`);
    }
    let state: EndpointState;
    try {
      state = await endpointStatus.get(spec.endpointName);
    } catch (err) {
      ctx.log.warn({ endpointName: spec.endpointName, err: errorMessage(err) }, 'DescribeEndpoint failed');
      throw new HttpError(503, 'endpoint_status_unavailable', `Cannot check the status of endpoint ${spec.endpointName}; try again later`, {
        'retry-after': '5',
      });
    }
    if ('missing' in state) throw new HttpError(503, 'endpoint_unavailable', `Endpoint ${spec.endpointName} does not exist`);
    if (state.status !== 'InService') {
      throw new HttpError(503, 'endpoint_unavailable', `Endpoint ${spec.endpointName} is ${state.status}, not InService; try again later`, {
        'retry-after': '10',
      });
    }
    return spec;
  };
}
