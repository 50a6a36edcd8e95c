// The endpointLease workflow's input: the endpoint, its lease terms (common/lease-terms.ts), and
// what one run hands the next through continue-as-new; the extend input; the lease's workflow id.
// Workflow-safe: no I/O, no clocks, no environment.
import { z } from 'zod';
import { endpointNameSchema } from './sagemaker-names.js';
import { checkLeaseTerms, leaseTermsFields, MAX_LEASE_HOURS } from './lease-terms.js';

const isoTime = z.iso.datetime({ error: 'must be an ISO 8601 UTC time' });

/**
 * What one run of the lease hands to the next through continue-as-new (and what a re-deploy
 * resets): the times the deadlines are computed from. Never set by hand.
 */
const carriedSchema = z.strictObject({
  startedAt: isoTime,
  /** Idleness counts from here: the lease start, the last invocation seen, or later after an extend. */
  idleFrom: isoTime,
  ttlDeadline: isoTime.optional(),
  lastInvocationAt: isoTime.optional(),
  lastCheckedAt: isoTime.optional(),
  checks: z.number().int().min(0),
  runs: z.number().int().min(1),
  extendedHours: z.number().min(0),
  lastAction: z.string().optional(),
});
export type LeaseCarried = z.output<typeof carriedSchema>;

export const endpointLeaseInputSchema = z
  .strictObject({
    endpointName: endpointNameSchema,
    ...leaseTermsFields,
    /** Checks per run before continue-as-new (keeps each run's history bounded). */
    checksPerRun: z.number().int().min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(200),
    carried: carriedSchema.optional(),
  })
  .superRefine((input, ctx) => checkLeaseTerms(input, ctx, true));
export type EndpointLeaseInput = z.input<typeof endpointLeaseInputSchema>;
export type EndpointLeaseSpec = z.output<typeof endpointLeaseInputSchema>;

export const extendLeaseInputSchema = z.strictObject({
  hours: z.number().positive('must be more than 0').max(MAX_LEASE_HOURS, `must be at most ${MAX_LEASE_HOURS}`),
});
export type ExtendLeaseInput = z.input<typeof extendLeaseInputSchema>;

/** One lease per endpoint: its workflow id. */
export const leaseWorkflowId = (endpointName: string) => `lease-${endpointName}`;
