// The process-wide registry of secret values this worker has resolved (Hugging Face tokens read
// from Secrets Manager or an allowed environment variable), and the scrubbing that keeps them out
// of everything that leaves the process: log lines (workers/logger.ts), failure messages built
// from AWS errors (aws-errors.ts) and every failure an activity throws (the interceptor below).
// A value is registered before anything is done with it, so even a failure half-way through
// resolving it (a JSON secret that does not parse) cannot carry it out.
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { AWS_ACCESS_KEY_ID_SHAPE, HF_TOKEN_SHAPE } from '../common/secret-shapes.js';

export const REDACTED = '[redacted]';

/**
 * Shorter values are not registered: scrubbing a 3-letter "secret" would shred every log line,
 * and no token worth the name is that short.
 */
const MIN_SECRET_LENGTH = 8;

/**
 * Credentials recognisable by shape, scrubbed even if they reached the process some other way.
 * Not the 40-character AWS secret key shape: in free text it also matches harmless base64.
 */
const TOKEN_SHAPES = [HF_TOKEN_SHAPE, AWS_ACCESS_KEY_ID_SHAPE].map((shape) => new RegExp(shape.source, 'g'));

// Every form in which a value can appear in text we emit: as is, inside a JSON string (a log
// line, a serialized request) and URL-encoded (query-protocol bodies echoed in errors).
const registered = new Set<string>();
let longestFirst: string[] = [];

export function registerSecret(value: string): void {
  if (value.length < MIN_SECRET_LENGTH) return;
  const forms = [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)];
  let added = false;
  for (const form of forms) {
    if (!registered.has(form)) {
      registered.add(form);
      added = true;
    }
  }
  // Longest first, so a form that contains another is replaced whole.
  if (added) longestFirst = [...registered].sort((a, b) => b.length - a.length);
}

/** `text` with every registered secret value (and token-shaped string) replaced by [redacted]. */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const secret of longestFirst) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  for (const shape of TOKEN_SHAPES) out = out.replace(shape, REDACTED);
  return out;
}

/** Scrubs every string inside a JSON-like value (failure details, heartbeat payloads). */
function scrubValue(value: unknown, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (typeof value !== 'object' || value === null || seen.has(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, seen));
  if (value instanceof Error) return scrubError(value, seen);
  // Plain records only: rebuilding a Date or a Buffer from its entries would break it.
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubValue(v, seen)]));
}

/**
 * Scrubs an error in place (message, stack, failure details and the whole cause chain) and
 * returns it, so its class, type and retryability stay what the activity decided.
 */
export function scrubError<E>(err: E, seen = new WeakSet<object>()): E {
  if (!(err instanceof Error)) return (typeof err === 'string' ? scrubSecrets(err) : err) as E;
  seen.add(err);
  err.message = scrubSecrets(err.message);
  if (err.stack) err.stack = scrubSecrets(err.stack);
  if (err instanceof ApplicationFailure && err.details) {
    (err as { details: unknown[] }).details = err.details.map((d) => scrubValue(d, seen));
  }
  if (err.cause instanceof Error && !seen.has(err.cause)) scrubError(err.cause, seen);
  return err;
}

/**
 * The worker interceptor that makes the rule hold for every activity, including failures built
 * from a model's error body or an endpoint's FailureReason: whatever an activity throws is
 * scrubbed before the SDK serialises it into workflow history or logs it.
 */
export const scrubActivityFailures: ActivityInterceptorsFactory = () => ({
  inbound: {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (err) {
        throw scrubError(err);
      }
    },
  },
});
