// The idle guard's terms (`idle` and/or `ttl`, the warning lead time, the check interval),
// validated with zod. The deploy input embeds them and the lease input extends them, so this
// module imports nothing of ours (no import cycle). Workflow-safe: no I/O, clocks or environment.
import { z } from 'zod';

export const LEASE_ACTIONS = ['scaleToZero', 'teardown'] as const;
export type LeaseAction = (typeof LEASE_ACTIONS)[number];

const actionSchema = z.enum(LEASE_ACTIONS, { error: 'must be "scaleToZero" or "teardown"' });

// SageMaker publishes Invocations in 1-minute periods that reach CloudWatch a few minutes late;
// a shorter idle window would read a late datapoint as "no traffic" and act on a busy endpoint.
export const MIN_IDLE_MINUTES = 5;
export const MAX_LEASE_HOURS = 24 * 366;

/** The fields a deploy input embeds as they are (`idle`, `ttl`, ...), and the lease's own input. */
export const leaseTermsFields = {
  idle: z
    .strictObject({
      afterMinutes: z
        .number()
        .min(MIN_IDLE_MINUTES, `must be at least ${MIN_IDLE_MINUTES} (CloudWatch metrics arrive minutes late)`)
        .max(MAX_LEASE_HOURS * 60, `must be at most ${MAX_LEASE_HOURS * 60}`),
      action: actionSchema,
    })
    .optional(),
  ttl: z
    .strictObject({
      hours: z.number().positive('must be more than 0').max(MAX_LEASE_HOURS, `must be at most ${MAX_LEASE_HOURS}`),
      action: actionSchema.default('teardown'),
    })
    .optional(),
  /** How long before acting the lease warns (state `warning`); default the smaller of 10% of the window and 15 minutes. */
  warnMinutesBefore: z.number().min(0, 'must be 0 or more').optional(),
  /** How often the metric is read; default 5 minutes (a fifth of a shorter idle window); at most a day. */
  checkIntervalMinutes: z
    .number()
    .min(1, 'must be at least 1 (the metric period)')
    .max(24 * 60, 'must be at most 1440 (a day)')
    .optional(),
};

type TermsDraft = { idle?: { afterMinutes: number }; ttl?: { hours: number }; warnMinutesBefore?: number; checkIntervalMinutes?: number };

/** The cross-field rules, shared by the lease input and any input that embeds the terms. */
export function checkLeaseTerms(terms: TermsDraft, ctx: z.RefinementCtx, required: boolean): void {
  if (!terms.idle && !terms.ttl) {
    if (required) ctx.addIssue({ code: 'custom', path: ['idle'], message: 'a lease needs idle and/or ttl' });
    return;
  }
  const shortest = shortestWindowMinutes(terms);
  if (terms.warnMinutesBefore !== undefined && terms.warnMinutesBefore >= shortest) {
    ctx.addIssue({ code: 'custom', path: ['warnMinutesBefore'], message: `must be less than the shortest lease window (${shortest} minutes)` });
  }
  if (terms.idle && terms.checkIntervalMinutes !== undefined && terms.checkIntervalMinutes > terms.idle.afterMinutes) {
    ctx.addIssue({ code: 'custom', path: ['checkIntervalMinutes'], message: `must be at most idle.afterMinutes (${terms.idle.afterMinutes})` });
  }
}

const shortestWindowMinutes = (terms: TermsDraft) => Math.min(terms.idle?.afterMinutes ?? Infinity, (terms.ttl?.hours ?? Infinity) * 60);

export const leaseTermsSchema = z.strictObject(leaseTermsFields).superRefine((terms, ctx) => checkLeaseTerms(terms, ctx, true));
export type LeaseTermsInput = z.input<typeof leaseTermsSchema>;
export type LeaseTerms = z.output<typeof leaseTermsSchema>;

/** The defaults spelled out: what the workflow actually uses. */
export function leaseTiming(terms: LeaseTerms): { warnMs: number; checkIntervalMs: number } {
  const shortest = shortestWindowMinutes(terms);
  const warnMinutes = terms.warnMinutesBefore ?? Math.min(shortest * 0.1, 15);
  const checkMinutes = terms.checkIntervalMinutes ?? Math.min(5, (terms.idle?.afterMinutes ?? Infinity) / 5);
  return { warnMs: warnMinutes * 60_000, checkIntervalMs: Math.max(1, checkMinutes) * 60_000 };
}
