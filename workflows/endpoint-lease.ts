// endpointLease: the idle guard. One long-lived run per endpoint (id `lease-<endpointName>`),
// started by the deploy and surviving it. Every check interval it reads the endpoint's
// Invocations metric (one activity, so a check costs a constant handful of history events),
// computes the deadline (idle window after the last invocation seen, and/or a fixed TTL),
// warns ahead of it (the `lease` query and the LeaseState / LeaseDeadline search attributes),
// then scales the endpoint to zero or tears it down. `extend` (signal or update) moves the
// deadline, `end` (signal, or cancelling the run) ends the lease; continue-as-new every
// `checksPerRun` checks keeps the history of a run bounded over weeks.
import {
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  ChildWorkflowCancellationType,
  condition,
  ContinueAsNew,
  continueAsNew,
  patched,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  ParentClosePolicy,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  endpointLeaseInputSchema,
  extendLeaseInputSchema,
  leaseWorkflowId,
  type EndpointLeaseInput,
  type ExtendLeaseInput,
  type LeaseCarried,
} from '../common/lease-input.js';
import { leaseTiming, type LeaseAction, type LeaseTerms, type LeaseTermsInput } from '../common/lease-terms.js';
import { parseInput } from '../common/input-parsing.js';
import { LEASE_DEADLINE_ATTRIBUTE, LEASE_STATE_ATTRIBUTE } from '../common/resource-names.js';
import { controlPlaneActivities } from './activity-proxies.js';
import { reasonOf } from './failures.js';
import type { ProgressTracker } from './progress.js';
import { validateInput } from '../common/input-parsing.js';
import { tagWithEndpointName } from './endpoint-search-attribute.js';

export type LeaseState = 'active' | 'warning' | 'acting' | 'ended';

export interface LeaseStatus {
  endpointName: string;
  state: LeaseState;
  /** When the lease acts unless traffic or an extend moves it; absent once ended. */
  deadline?: string;
  /** Which term sets the deadline, and what happens then. */
  cause?: 'idle' | 'ttl';
  action?: LeaseAction;
  /** From here on the state is `warning`. */
  warnAt?: string;
  lastInvocationAt?: string;
  lastCheckedAt?: string;
  idle?: LeaseTerms['idle'];
  ttl?: LeaseTerms['ttl'];
  startedAt: string;
  extendedHours: number;
  checks: number;
  /** Runs so far in the continue-as-new chain. */
  runs: number;
  lastAction?: string;
  endedReason?: string;
}

export interface EndpointLeaseResult {
  endpointName: string;
  outcome: 'tornDown' | 'scaledToZero' | 'ended' | 'endpointGone';
  reason: string;
  status: LeaseStatus;
}

export const leaseQuery = defineQuery<LeaseStatus>('lease');
export const extendLeaseSignal = defineSignal<[ExtendLeaseInput]>('extend');
/** The same as the signal, but answers with the new status (or refuses, once acting). */
export const extendLeaseUpdate = defineUpdate<LeaseStatus, [ExtendLeaseInput]>('extendLease');
export const endLeaseSignal = defineSignal<[{ reason: string }]>('end');
/** New terms for a running lease (a re-deploy): deadlines restart from now. */
export const renewLeaseSignal = defineSignal<[LeaseTermsInput]>('renew');

// CloudWatch receives SageMaker's datapoints minutes late: each check re-reads this much of
// the window before the last one, so a datapoint that arrived late is still seen.
const METRIC_LATENESS_MS = 5 * 60_000;

const iso = (ms: number) => new Date(ms).toISOString();
const ms = (time: string) => Date.parse(time);

function freshCarried(terms: LeaseTerms, nowMs: number, previous?: LeaseCarried): LeaseCarried {
  return {
    startedAt: previous?.startedAt ?? iso(nowMs),
    idleFrom: iso(nowMs),
    ...(terms.ttl ? { ttlDeadline: iso(nowMs + terms.ttl.hours * 3600_000) } : {}),
    ...(previous?.lastInvocationAt ? { lastInvocationAt: previous.lastInvocationAt } : {}),
    checks: previous?.checks ?? 0,
    runs: previous?.runs ?? 1,
    extendedHours: 0,
    ...(previous?.lastAction ? { lastAction: previous.lastAction } : {}),
  };
}

/** The earliest deadline of the terms in force; undefined when nothing is left to watch. */
function deadlineOf(terms: LeaseTerms, carried: LeaseCarried): { atMs: number; cause: 'idle' | 'ttl'; action: LeaseAction } | undefined {
  const idle = terms.idle && { atMs: ms(carried.idleFrom) + terms.idle.afterMinutes * 60_000, cause: 'idle' as const, action: terms.idle.action };
  const ttl = terms.ttl && carried.ttlDeadline ? { atMs: ms(carried.ttlDeadline), cause: 'ttl' as const, action: terms.ttl.action } : undefined;
  if (idle && ttl) return ttl.atMs <= idle.atMs ? ttl : idle;
  return idle ?? ttl;
}

export async function endpointLease(rawInput: EndpointLeaseInput): Promise<EndpointLeaseResult> {
  const spec = validateInput(endpointLeaseInputSchema, 'endpointLease', rawInput);
  const { endpointName } = spec;
  let terms: LeaseTerms = spec;
  let carried: LeaseCarried = spec.carried ?? freshCarried(terms, Date.now());
  let state: LeaseState = 'active';
  let endedReason: string | undefined;
  let wake = false; // a signal changed something: re-evaluate now instead of at the next check
  let checksThisRun = 0;
  const controlPlane = controlPlaneActivities();
  tagWithEndpointName(endpointName);

  const status = (): LeaseStatus => {
    const d = state === 'ended' ? undefined : deadlineOf(terms, carried);
    const { warnMs } = leaseTiming(terms);
    return {
      endpointName,
      state,
      ...(d ? { deadline: iso(d.atMs), cause: d.cause, action: d.action, warnAt: iso(d.atMs - warnMs) } : {}),
      ...(carried.lastInvocationAt ? { lastInvocationAt: carried.lastInvocationAt } : {}),
      ...(carried.lastCheckedAt ? { lastCheckedAt: carried.lastCheckedAt } : {}),
      ...(terms.idle ? { idle: terms.idle } : {}),
      ...(terms.ttl ? { ttl: terms.ttl } : {}),
      startedAt: carried.startedAt,
      extendedHours: carried.extendedHours,
      checks: carried.checks,
      runs: carried.runs,
      ...(carried.lastAction ? { lastAction: carried.lastAction } : {}),
      ...(endedReason ? { endedReason } : {}),
    };
  };

  // Search attributes cost a history event per upsert: only when the state or deadline changes.
  let published = '';
  const publish = () => {
    const d = state === 'ended' ? undefined : deadlineOf(terms, carried);
    const key = `${state}|${d?.atMs ?? ''}`;
    if (key === published) return;
    published = key;
    upsertSearchAttributes([
      { key: LEASE_STATE_ATTRIBUTE, value: state },
      { key: LEASE_DEADLINE_ATTRIBUTE, value: d ? new Date(d.atMs) : null },
    ]);
  };

  const extend = ({ hours }: { hours: number }) => {
    const by = hours * 3600_000;
    carried = {
      ...carried,
      idleFrom: iso(ms(carried.idleFrom) + by),
      ...(carried.ttlDeadline ? { ttlDeadline: iso(ms(carried.ttlDeadline) + by) } : {}),
      extendedHours: carried.extendedHours + hours,
    };
    wake = true;
  };
  const refuseWhileActing = () => {
    if (state === 'acting' || state === 'ended')
      throw ApplicationFailure.create({
        message: `The lease of ${endpointName} is ${state}; it can no longer be extended`,
        type: 'LeaseNotActive',
        nonRetryable: true,
      });
  };
  setHandler(leaseQuery, status);
  setHandler(extendLeaseSignal, (input) => {
    if (state === 'acting' || state === 'ended') return; // a signal cannot be refused; too late to matter
    try {
      extend(parseInput(extendLeaseInputSchema, 'extend', input));
    } catch {
      // A signal has no answer: a bad one is dropped (the CLI validates and uses the update).
    }
  });
  setHandler(
    extendLeaseUpdate,
    (input) => {
      extend(input);
      return status();
    },
    {
      validator: (input) => {
        refuseWhileActing();
        parseInput(extendLeaseInputSchema, 'extendLease', input);
      },
    },
  );
  setHandler(endLeaseSignal, ({ reason }) => {
    if (state === 'acting' || state === 'ended') return;
    endedReason = reason || 'ended by signal';
    wake = true;
  });
  setHandler(renewLeaseSignal, (input) => {
    if (state === 'acting' || state === 'ended') return;
    try {
      terms = parseInput(endpointLeaseInputSchema, 'renew', { ...input, endpointName });
      carried = freshCarried(terms, Date.now(), carried);
      wake = true;
    } catch {
      // Bad new terms keep the old ones; the deploy validated them before sending.
    }
  });

  const end = (outcome: EndpointLeaseResult['outcome'], reason: string): EndpointLeaseResult => {
    state = 'ended';
    endedReason = reason;
    publish();
    return { endpointName, outcome, reason, status: status() };
  };

  try {
    for (;;) {
      if (endedReason) return end('ended', endedReason);
      const deadline = deadlineOf(terms, carried);
      if (!deadline) return end('ended', 'nothing left to watch');
      const now = Date.now();
      const { warnMs, checkIntervalMs } = leaseTiming(terms);

      if (now >= deadline.atMs) {
        state = 'acting';
        publish();
        const cause = deadline.cause === 'idle' ? `no invocations for ${terms.idle!.afterMinutes} minutes` : `ttl of ${terms.ttl!.hours} hours reached`;
        if (deadline.action === 'teardown') {
          await tearDown(endpointName);
          return end('tornDown', `${cause}: torn down`);
        }
        const scaled = await controlPlane.scaleEndpointToZero({ endpointName });
        const kept = scaled.instancesKept ? `; ${scaled.instancesKept} instance(s) keep running (the variant's instance minimum)` : '';
        carried = { ...carried, lastAction: `${iso(now)} scaled to zero (${cause}): ${scaled.scaledToZero.join(', ') || 'already at zero'}${kept}` };
        // The ttl is spent once acted on; the idle guard watches on, from now.
        if (deadline.cause === 'ttl') carried = { ...carried, ttlDeadline: undefined };
        else carried = { ...carried, idleFrom: iso(now) };
        if (!terms.idle) return end('scaledToZero', `${cause}: scaled to zero`);
        state = 'active';
        continue;
      }

      state = now >= deadline.atMs - warnMs ? 'warning' : 'active';
      publish();

      if (checksThisRun >= spec.checksPerRun || workflowInfo().continueAsNewSuggested) {
        await condition(allHandlersFinished);
        return await continueAsNew<typeof endpointLease>({
          endpointName,
          idle: terms.idle,
          ttl: terms.ttl,
          warnMinutesBefore: terms.warnMinutesBefore,
          checkIntervalMinutes: terms.checkIntervalMinutes,
          checksPerRun: spec.checksPerRun,
          carried: { ...carried, runs: carried.runs + 1 },
        });
      }

      // Sleep to the next check, the warning time or the deadline, whichever comes first.
      const warnAt = deadline.atMs - warnMs;
      const nextMs = Math.min(now + checkIntervalMs, deadline.atMs, warnAt > now ? warnAt : Infinity);
      wake = false;
      await condition(() => wake, nextMs - now);
      if (wake) continue; // a signal: re-evaluate before reading the metric again

      checksThisRun++;
      carried = { ...carried, checks: carried.checks + 1 };
      if (!terms.idle) continue; // a ttl alone needs no traffic figures
      const until = Date.now();
      const since = carried.lastCheckedAt ? ms(carried.lastCheckedAt) - METRIC_LATENESS_MS : ms(carried.idleFrom);
      const seen = await controlPlane.endpointInvocations({ endpointName, since: iso(since), until: iso(until) });
      if (!seen.endpointExists) return end('endpointGone', `endpoint ${endpointName} no longer exists`);
      carried = { ...carried, lastCheckedAt: iso(until) };
      if (seen.lastInvocationAt) {
        carried = { ...carried, lastInvocationAt: seen.lastInvocationAt };
        if (ms(seen.lastInvocationAt) > ms(carried.idleFrom)) carried = { ...carried, idleFrom: seen.lastInvocationAt };
      }
    }
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err; // how a run hands over to the next, not a failure
    if (isCancellation(err)) return end('ended', 'lease workflow cancelled');
    state = 'ended';
    endedReason = reasonOf(err);
    throw ApplicationFailure.create({
      message: `Lease of endpoint ${endpointName} failed: ${endedReason}`,
      type: 'LeaseFailed',
      nonRetryable: true,
      details: [status()],
    });
  }
}

/**
 * Tears the endpoint down through the teardown workflow (id `teardown-<endpointName>`), as a child
 * that outlives the lease. A teardown already running (a person started it) does the job too.
 */
async function tearDown(endpointName: string): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    try {
      await executeChild('teardownEndpoint', {
        workflowId: `teardown-${endpointName}`,
        args: [{ endpointName }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        cancellationType: ChildWorkflowCancellationType.ABANDON,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  });
}

/**
 * For deployEndpoint: starts the lease of an endpoint (surviving the deploy), or hands new terms
 * to the lease already running for it. Call it from workflow code once the endpoint serves.
 */
export async function startEndpointLease(endpointName: string, terms: LeaseTermsInput): Promise<void> {
  const workflowId = leaseWorkflowId(endpointName);
  try {
    await startChild(endpointLease, {
      workflowId,
      args: [{ endpointName, ...terms }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      cancellationType: ChildWorkflowCancellationType.ABANDON,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    await getExternalWorkflowHandle(workflowId).signal(renewLeaseSignal, terms);
  }
}

/**
 * The deploy runbooks' last step: start (or renew) the lease when the input has `idle` or `ttl`,
 * recorded as the `startLease` step. `patchId` is the patch each runbook introduced the lease
 * under, so runs started before it replay without the step.
 */
export async function leaseStep(
  progress: ProgressTracker,
  endpointName: string,
  spec: Pick<LeaseTermsInput, 'idle' | 'ttl' | 'warnMinutesBefore' | 'checkIntervalMinutes'>,
  patchId: string,
): Promise<void> {
  if ((spec.idle || spec.ttl) && patched(patchId)) {
    const { idle, ttl, warnMinutesBefore, checkIntervalMinutes } = spec;
    await progress.step('startLease', () => startEndpointLease(endpointName, { idle, ttl, warnMinutesBefore, checkIntervalMinutes }));
  } else {
    progress.skip('startLease', 'no idle or ttl in input');
  }
}

/** For teardownEndpoint: ends the endpoint's lease, if it has one running; no lease is fine. */
export async function endEndpointLease(endpointName: string, reason: string): Promise<void> {
  try {
    await getExternalWorkflowHandle(leaseWorkflowId(endpointName)).signal(endLeaseSignal, { reason });
  } catch (err) {
    if (isCancellation(err)) throw err;
    // No such workflow (never leased, or already ended): nothing to end.
  }
}
