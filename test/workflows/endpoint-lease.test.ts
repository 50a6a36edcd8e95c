// endpointLease (the idle guard) on the time-skipping test server: days pass in seconds, the
// endpoint's traffic and the actions are in-memory fakes, teardown is the real workflow over
// the fake cloud.
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import type { EndpointInvocationsInput } from '../../activities/endpoint-activity.js';
import { leaseWorkflowId, type EndpointLeaseInput } from '../../common/lease-input.js';
import { LEASE_DEADLINE_ATTRIBUTE, LEASE_STATE_ATTRIBUTE } from '../../common/resource-names.js';
import type { EndpointLeaseResult, LeaseStatus } from '../../workflows/endpoint-lease.js';
import { timeSkippingSuite } from '../support/time-skipping-suite.js';
import { createFakeCloud } from './fake-activities.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

const suite = timeSkippingSuite('lease-test');

/**
 * The endpoint's traffic as a function of workflow time: `busyUntil(startMs)` says until when
 * (absolute ms) an invocation lands just before every check. Records every read and action.
 */
function createLeaseCloud(opts: { busyForMs?: number } = {}) {
  const cloud = createFakeCloud();
  cloud.endpoints.set('demo', { configName: 'demo-c-1', status: 'InService', runTag: 'deploy-demo/run-1', pollsLeft: 0 });
  cloud.configs.set('demo-c-1', { runTag: 'deploy-demo/run-1', modelName: 'demo-m-1' });
  cloud.models.set('demo-m-1', { runTag: 'deploy-demo/run-1', image: 'x' });
  let startMs: number | undefined;
  const reads: EndpointInvocationsInput[] = [];
  const scaled: string[] = [];
  const activities = {
    ...cloud.activities,
    async endpointInvocations(input: EndpointInvocationsInput) {
      reads.push(input);
      startMs ??= Date.parse(input.since);
      if (!cloud.endpoints.has(input.endpointName)) return { endpointExists: false, invocations: 0 };
      const untilMs = Date.parse(input.until);
      const busy = opts.busyForMs !== undefined && untilMs <= startMs + opts.busyForMs;
      return busy
        ? { endpointExists: true, status: 'InService', invocations: 3, lastInvocationAt: new Date(untilMs - 60_000).toISOString() }
        : { endpointExists: true, status: 'InService', invocations: 0 };
    },
    async scaleEndpointToZero({ endpointName }: { endpointName: string }) {
      scaled.push(endpointName);
      return { scaledToZero: [`${endpointName}-ic`], alreadyAtZero: [] };
    },
  };
  return { cloud, activities, reads, scaled };
}

async function withLease<T>(lease: ReturnType<typeof createLeaseCloud>, input: EndpointLeaseInput, body: (handle: WorkflowHandle) => Promise<T>): Promise<T> {
  return suite.withWorker(lease.activities, async (taskQueue, n) => {
    const handle = await suite.env.client.workflow.start('endpointLease', {
      taskQueue,
      workflowId: `${leaseWorkflowId(input.endpointName)}-${n}`,
      args: [input],
    });
    return body(handle);
  });
}

const status = (handle: WorkflowHandle) => handle.query<LeaseStatus>('lease');

describe('endpointLease', () => {
  it('tears an endpoint down after two idle days, warning first in its query and search attributes', async () => {
    const lease = createLeaseCloud();
    const input = { endpointName: 'demo', idle: { afterMinutes: 2 * 24 * 60, action: 'teardown' as const }, checkIntervalMinutes: 3 * 60 };
    await withLease(lease, input, async (handle) => {
      await suite.env.sleep(DAY);
      const first = await status(handle);
      expect(first).toMatchObject({ state: 'active', cause: 'idle', action: 'teardown' });
      const deadline = Date.parse(first.deadline!);
      expect(deadline - Date.parse(first.startedAt)).toBe(2 * DAY);
      expect(Date.parse(first.deadline!) - Date.parse(first.warnAt!)).toBe(15 * 60_000); // min(10% of 2 days, 15 min)

      await suite.env.sleep(DAY - 10 * 60_000); // inside the warning window
      const warning = await status(handle);
      expect(warning.state).toBe('warning');
      const attributes = (await handle.describe()).typedSearchAttributes;
      expect(attributes.get(LEASE_STATE_ATTRIBUTE)).toBe('warning');
      expect(attributes.get(LEASE_DEADLINE_ATTRIBUTE)?.toISOString()).toBe(first.deadline);
      expect(lease.cloud.endpoints.has('demo')).toBe(true);

      const result = (await handle.result()) as EndpointLeaseResult;
      expect(result).toMatchObject({ outcome: 'tornDown', status: { state: 'ended' } });
      expect(result.reason).toMatch(/no invocations for 2880 minutes/);
      expect(lease.cloud.endpoints.has('demo')).toBe(false);
      expect(lease.cloud.models.size + lease.cloud.configs.size).toBe(0);
      expect((await handle.describe()).typedSearchAttributes.get(LEASE_STATE_ATTRIBUTE)).toBe('ended');
    });
  });

  it('stays active while invocations arrive, and acts one idle window after the last one', async () => {
    const lease = createLeaseCloud({ busyForMs: 3 * DAY });
    const input = { endpointName: 'demo', idle: { afterMinutes: 12 * 60, action: 'scaleToZero' as const }, checkIntervalMinutes: 2 * 60 };
    await withLease(lease, input, async (handle) => {
      await suite.env.sleep(2 * DAY);
      const busy = await status(handle);
      expect(busy.state).toBe('active');
      expect(lease.scaled).toEqual([]);
      expect(Date.parse(busy.lastInvocationAt!)).toBeGreaterThan(Date.parse(busy.startedAt) + 2 * DAY - 3 * HOUR);

      await suite.env.sleep(DAY + 15 * HOUR); // traffic stopped at day 3; 12 idle hours later it acts
      const after = await status(handle);
      expect(lease.scaled).toEqual(['demo']);
      expect(after.lastAction).toMatch(/scaled to zero \(no invocations for 720 minutes\): demo-ic/);
      // Scaled to zero, the guard keeps watching: the next idle window counts from the action.
      expect(after.state).toBe('active');
      const actedAt = Date.parse(after.deadline!) - 12 * HOUR;
      expect(actedAt - Date.parse(after.lastInvocationAt!)).toBeGreaterThanOrEqual(12 * HOUR);
      expect(actedAt - Date.parse(after.lastInvocationAt!)).toBeLessThanOrEqual(14 * HOUR);
      await handle.signal('end', { reason: 'test over' });
      expect(await handle.result()).toMatchObject({ outcome: 'ended', reason: 'test over' });
    });
  });

  it('an extend (signal or update) moves the deadline by its hours; a bad one is refused', async () => {
    const lease = createLeaseCloud();
    const input = { endpointName: 'demo', idle: { afterMinutes: 24 * 60, action: 'teardown' as const }, ttl: { hours: 48 }, checkIntervalMinutes: 4 * 60 };
    await withLease(lease, input, async (handle) => {
      await suite.env.sleep(HOUR);
      const before = await status(handle);
      await handle.signal('extend', { hours: 6 });
      await suite.env.sleep(60_000);
      const signalled = await status(handle);
      expect(Date.parse(signalled.deadline!) - Date.parse(before.deadline!)).toBe(6 * HOUR);
      expect(signalled.extendedHours).toBe(6);

      const updated = await handle.executeUpdate<LeaseStatus, [{ hours: number }]>('extendLease', { args: [{ hours: 2 }] });
      expect(Date.parse(updated.deadline!) - Date.parse(before.deadline!)).toBe(8 * HOUR);
      const refused = await handle.executeUpdate('extendLease', { args: [{ hours: -1 }] }).catch((e: unknown) => e);
      expect((refused as { cause?: Error }).cause?.message).toMatch(/hours: must be more than 0/);

      const result = (await handle.result()) as EndpointLeaseResult;
      expect(result.outcome).toBe('tornDown');
      expect(Date.parse(result.status.lastCheckedAt!) - Date.parse(result.status.startedAt)).toBeGreaterThanOrEqual(32 * HOUR);
    });
  });

  it('a ttl acts at its hour however busy the endpoint is', async () => {
    const lease = createLeaseCloud({ busyForMs: 30 * DAY });
    const input = {
      endpointName: 'demo',
      idle: { afterMinutes: 60, action: 'scaleToZero' as const },
      ttl: { hours: 12, action: 'teardown' as const },
      checkIntervalMinutes: 60,
    };
    await withLease(lease, input, async (handle) => {
      const result = (await handle.result()) as EndpointLeaseResult;
      expect(result).toMatchObject({ outcome: 'tornDown' });
      expect(result.reason).toMatch(/ttl of 12 hours reached/);
      expect(lease.scaled).toEqual([]);
      const ranFor = Date.parse(result.status.lastCheckedAt!) - Date.parse(result.status.startedAt);
      expect(ranFor).toBeGreaterThan(11 * HOUR);
      expect(ranFor).toBeLessThan(12 * HOUR + 60_000); // the last check's activity takes a moment
    });
  });

  it('keeps the history of its current run bounded over three busy weeks (continue-as-new)', async () => {
    const lease = createLeaseCloud({ busyForMs: 60 * DAY });
    const input = { endpointName: 'demo', idle: { afterMinutes: 3 * 24 * 60, action: 'teardown' as const }, checkIntervalMinutes: 12 * 60, checksPerRun: 8 };
    await withLease(lease, input, async (handle) => {
      await suite.env.sleep(21 * DAY);
      const now = await status(handle);
      expect(now.state).toBe('active');
      expect(now.checks).toBeGreaterThanOrEqual(21 * 2 - 1);
      expect(now.runs).toBeGreaterThanOrEqual(5);
      const history = await suite.env.client.workflow.getHandle(handle.workflowId).fetchHistory();
      // 8 checks of about a dozen events each; the 42 checks of three weeks in one run would be ~500.
      expect(history.events!.length).toBeLessThan(8 * 14);
      expect(lease.reads.length).toBe(now.checks);
      await handle.signal('end', { reason: 'done' });
      expect(await handle.result()).toMatchObject({ outcome: 'ended' });
    });
  });

  it('ends when teardown signals the end, and when the endpoint has gone', async () => {
    const lease = createLeaseCloud();
    const input = { endpointName: 'demo', idle: { afterMinutes: 7 * 24 * 60, action: 'teardown' as const }, checkIntervalMinutes: 6 * 60 };
    await withLease(lease, input, async (handle) => {
      await suite.env.sleep(DAY);
      await handle.signal('end', { reason: 'endpoint torn down by teardown-demo' });
      const result = (await handle.result()) as EndpointLeaseResult;
      expect(result).toMatchObject({ outcome: 'ended', reason: 'endpoint torn down by teardown-demo', status: { state: 'ended' } });
      expect(result.status.deadline).toBeUndefined();
      expect(lease.cloud.endpoints.has('demo')).toBe(true);
    });
    const gone = createLeaseCloud();
    gone.cloud.endpoints.clear();
    await withLease(gone, input, async (handle) => {
      expect(await handle.result()).toMatchObject({ outcome: 'endpointGone' });
    });
  });

  it('rejects bad terms before any activity, naming the field', async () => {
    const lease = createLeaseCloud();
    const err = await withLease(lease, { endpointName: 'demo', idle: { afterMinutes: 1, action: 'teardown' }, warnMinutesBefore: 90 }, (h) => h.result()).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause?.message).toMatch(/^Invalid endpointLease input: idle.afterMinutes: must be at least 5/);
    const none = await withLease(lease, { endpointName: 'demo' }, (h) => h.result()).catch((e: unknown) => e);
    expect((none as WorkflowFailedError).cause?.message).toMatch(/idle: a lease needs idle and\/or ttl/);
    expect(lease.reads).toEqual([]);
  });
});
