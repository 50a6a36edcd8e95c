// What the RAG service answers while an inference component has no copy to serve (scaled to
// zero, and waking): SageMaker refuses the invoke with a ValidationError whose message says so,
// the failures themselves wake the component (its NoCapacityInvocationFailures alarm), and the
// caller should simply come back: 503 with Retry-After, not a 5xx that reads like a bug.
// The message is AWS's own (local/runtime/routes.ts sends it word for word); it reaches the
// service inside the ragQuery failure or as the streaming call's error, so it is looked for in
// the error and its causes.
import { HttpError } from './http.js';

const NO_CAPACITY = /Inference Component has no capacity to process this request/;

/**
 * How long a component takes to wake at AWS timing: the alarm's one 60-s period, then a copy
 * starting. A guess a client can act on, not a promise.
 */
export const NO_CAPACITY_RETRY_AFTER_SECONDS = 60;

/** Whether `err` (or any error in its cause chain) is SageMaker's no-capacity refusal. */
export function isNoCapacity(err: unknown): boolean {
  for (let current: unknown = err, depth = 0; current instanceof Error && depth < 10; current = current.cause, depth++) {
    if (NO_CAPACITY.test(current.message)) return true;
  }
  return false;
}

/** The 503 for a no-capacity failure on `endpointName`, or undefined for any other error. */
export function noCapacityHttpError(err: unknown, endpointName: string): HttpError | undefined {
  if (!isNoCapacity(err)) return undefined;
  return new HttpError(
    503,
    'no_capacity',
    `Endpoint ${endpointName} has no model copy serving right now (scaled to zero and waking up); retry after ${NO_CAPACITY_RETRY_AFTER_SECONDS} s`,
    { 'retry-after': String(NO_CAPACITY_RETRY_AFTER_SECONDS) },
  );
}
