// The CloudWatch metrics SageMaker publishes for endpoints, recorded from the local cloud's own
// invocations and published to CloudWatch (moto) once per period, as AWS defines them:
//   namespace AWS/SageMaker, dimensions EndpointName + VariantName (per variant) or
//   InferenceComponentName (per inference component);
//   per variant: Invocations, InvocationsPerInstance, ModelLatency and OverheadLatency
//   (microseconds), Invocation4XXErrors, Invocation5XXErrors (60-s period), and
//   ConcurrentRequestsPerModel (high resolution, 10-s period);
//   per component: Invocations, InvocationsPerCopy, ModelLatency, NoCapacityInvocationFailures
//   (60 s) and ConcurrentRequestsPerCopy (10 s).
// Sources: https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html
// Periods are compressed by LOCAL_CLOUD_TIME_SCALE (time-scale.ts). Each datum is a statistic
// set (SampleCount/Sum/Minimum/Maximum) stamped with its period's start. Variants and components
// that are serving get zero counts in periods without traffic, so an idle endpoint's alarms see
// data (see docs/local-cloud.md for how this differs from AWS).
import type { MetricDatum, StandardUnit } from '@aws-sdk/client-cloudwatch';
import type { Logger } from 'pino';
import type { TimeScale } from './time-scale.js';

export const SAGEMAKER_NAMESPACE = 'AWS/SageMaker';
const STANDARD_PERIOD_SECONDS = 60;
const HIGH_RESOLUTION_PERIOD_SECONDS = 10;
/** PutMetricData takes at most 1000 metrics per request. */
const MAX_DATA_PER_REQUEST = 1000;

/** Who served an invocation: a production variant, and on inference-component endpoints a component. */
export interface InvocationTarget {
  endpointName: string;
  variantName: string;
  inferenceComponentName?: string;
}

/** How big the fleet behind a target is, for the per-instance and per-copy metrics. */
export interface FleetSizes {
  /** Every variant and component currently serving (they get zero counts when idle). */
  serving(): InvocationTarget[];
  instances(endpointName: string, variantName: string): number;
  copies(inferenceComponentName: string): number;
}

/** One invocation in progress: the runtime marks the container call and the end. */
export interface InvocationTiming {
  modelStarted(): void;
  modelEnded(): void;
  /** The HTTP status the caller got. Later calls are ignored. */
  end(status: number): void;
}

class StatisticSet {
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  add(value: number): void {
    this.count += 1;
    this.sum += value;
    this.min = Math.min(this.min, value);
    this.max = Math.max(this.max, value);
  }
  values() {
    return this.count ? { SampleCount: this.count, Sum: this.sum, Minimum: this.min, Maximum: this.max } : undefined;
  }
}

/** What one target accumulates in one standard period. */
class StandardPeriod {
  invocations = 0;
  errors4xx = 0;
  errors5xx = 0;
  noCapacity = 0;
  readonly modelLatencyUs = new StatisticSet();
  readonly overheadLatencyUs = new StatisticSet();
}

const keyOf = (t: InvocationTarget) => JSON.stringify([t.endpointName, t.variantName, t.inferenceComponentName ?? '']);
const targetOf = (key: string): InvocationTarget => {
  const [endpointName, variantName, inferenceComponentName] = JSON.parse(key) as string[];
  return { endpointName, variantName, inferenceComponentName: inferenceComponentName || undefined };
};

const count = (n: number) => ({ SampleCount: 1, Sum: n, Minimum: n, Maximum: n });

export interface SageMakerMetricsOptions {
  /** Sends a batch to CloudWatch (PutMetricData). */
  publish(namespace: string, data: MetricDatum[]): Promise<void>;
  sizes: FleetSizes;
  timeScale: TimeScale;
  logger: Logger;
}

export class SageMakerMetrics {
  private readonly standardMs: number;
  private readonly highResMs: number;
  /** Standard-period accumulators by period start, then target key. */
  private readonly standard = new Map<number, Map<string, StandardPeriod>>();
  /** Concurrency samples per high-resolution period start and target key. */
  private readonly concurrency = new Map<number, Map<string, StatisticSet>>();
  private readonly inFlight = new Map<string, number>();
  /** Per period length, the last period start published (so an idle period is published once). */
  private readonly lastClosed = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private publishing: Promise<void> = Promise.resolve();

  constructor(private readonly opts: SageMakerMetricsOptions) {
    this.standardMs = opts.timeScale.periodMs(STANDARD_PERIOD_SECONDS);
    this.highResMs = opts.timeScale.periodMs(HIGH_RESOLUTION_PERIOD_SECONDS);
  }

  /** Publishes each period once it has closed, until close(). */
  start(): void {
    this.timer ??= setInterval(() => this.flush(), Math.min(this.highResMs, this.standardMs));
    this.timer.unref();
  }

  /** An invocation routed to `target` starts now (it counts towards concurrency until it ends). */
  begin(target: InvocationTarget): InvocationTiming {
    const key = keyOf(target);
    const began = performance.now();
    let modelStart: number | undefined;
    let modelMs = 0;
    let ended = false;
    const inFlight = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, inFlight);
    this.sampleConcurrency(key, inFlight);
    return {
      modelStarted: () => {
        modelStart = performance.now();
      },
      modelEnded: () => {
        if (modelStart !== undefined) modelMs = performance.now() - modelStart;
        modelStart = undefined;
      },
      end: (status) => {
        if (ended) return;
        ended = true;
        if (modelStart !== undefined) modelMs = performance.now() - modelStart;
        this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
        const period = this.standardPeriod(key);
        period.invocations += 1;
        if (status >= 400 && status < 500) period.errors4xx += 1;
        if (status >= 500) period.errors5xx += 1;
        period.modelLatencyUs.add(Math.round(modelMs * 1000));
        period.overheadLatencyUs.add(Math.max(0, Math.round((performance.now() - began - modelMs) * 1000)));
      },
    };
  }

  /** An invocation of a component that had no copy to serve it (NoCapacityInvocationFailures). */
  noCapacity(target: InvocationTarget): void {
    this.standardPeriod(keyOf(target)).noCapacity += 1;
  }

  /** Publishes every closed period (all of them with `all`); resolves when CloudWatch has them. */
  flush(all = false): Promise<void> {
    const now = Date.now();
    const data: MetricDatum[] = [];
    // Serving targets without traffic still get their period, with zero counts.
    const serving = this.opts.sizes.serving().map(keyOf);
    for (const start of this.periodStarts(this.standard, this.standardMs, now, all)) {
      const periods = this.standard.get(start) ?? new Map<string, StandardPeriod>();
      for (const key of serving) if (!periods.has(key)) periods.set(key, new StandardPeriod());
      for (const [key, period] of periods) data.push(...this.standardData(targetOf(key), period, new Date(start)));
      this.standard.delete(start);
    }
    for (const start of this.periodStarts(this.concurrency, this.highResMs, now, all)) {
      const samples = this.concurrency.get(start) ?? new Map<string, StatisticSet>();
      for (const key of serving) if (!samples.has(key)) this.sampleConcurrency(key, this.inFlight.get(key) ?? 0, samples);
      for (const [key, set] of samples) data.push(...this.concurrencyData(targetOf(key), set, new Date(start)));
      this.concurrency.delete(start);
    }
    if (data.length) {
      const batches: MetricDatum[][] = [];
      for (let i = 0; i < data.length; i += MAX_DATA_PER_REQUEST) batches.push(data.slice(i, i + MAX_DATA_PER_REQUEST));
      this.publishing = this.publishing.then(async () => {
        for (const batch of batches) {
          await this.opts.publish(SAGEMAKER_NAMESPACE, batch).catch((err: unknown) => {
            this.opts.logger.warn({ err }, 'publishing SageMaker metrics failed');
          });
        }
      });
    }
    return this.publishing;
  }

  /** Stops the timer and publishes what has been recorded, closed periods or not. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush(true);
  }

  /**
   * The closed period starts to publish: those recorded, plus (for zero counts) the periods
   * since the last publication. With `all`, the current one too.
   */
  private periodStarts(recorded: Map<number, unknown>, periodMs: number, now: number, all: boolean): number[] {
    const current = Math.floor(now / periodMs) * periodMs;
    const starts = new Set([...recorded.keys()].filter((start) => all || start < current));
    const previous = current - periodMs;
    if (!all && !recorded.has(previous) && this.lastClosed.get(periodMs) !== previous) starts.add(previous);
    this.lastClosed.set(periodMs, all ? current : previous);
    return [...starts].sort((a, b) => a - b);
  }

  private standardPeriod(key: string): StandardPeriod {
    const start = Math.floor(Date.now() / this.standardMs) * this.standardMs;
    let periods = this.standard.get(start);
    if (!periods) this.standard.set(start, (periods = new Map()));
    let period = periods.get(key);
    if (!period) periods.set(key, (period = new StandardPeriod()));
    return period;
  }

  private sampleConcurrency(key: string, value: number, into?: Map<string, StatisticSet>): void {
    let samples = into;
    if (!samples) {
      const start = Math.floor(Date.now() / this.highResMs) * this.highResMs;
      samples = this.concurrency.get(start);
      if (!samples) this.concurrency.set(start, (samples = new Map()));
    }
    let set = samples.get(key);
    if (!set) samples.set(key, (set = new StatisticSet()));
    set.add(value);
  }

  private standardData(target: InvocationTarget, p: StandardPeriod, Timestamp: Date): MetricDatum[] {
    const datum = (MetricName: string, Unit: StandardUnit, StatisticValues: MetricDatum['StatisticValues']): MetricDatum => ({
      MetricName,
      Dimensions: dimensionsOf(target),
      Timestamp,
      Unit,
      StatisticValues,
      StorageResolution: 60,
    });
    const latency = [...(p.modelLatencyUs.values() ? [datum('ModelLatency', 'Microseconds', p.modelLatencyUs.values())] : [])];
    if (target.inferenceComponentName) {
      const copies = this.opts.sizes.copies(target.inferenceComponentName);
      return [
        datum('Invocations', 'Count', count(p.invocations)),
        datum('InvocationsPerCopy', 'Count', count(copies ? p.invocations / copies : p.invocations)),
        datum('NoCapacityInvocationFailures', 'Count', count(p.noCapacity)),
        ...latency,
      ];
    }
    const instances = this.opts.sizes.instances(target.endpointName, target.variantName);
    return [
      datum('Invocations', 'Count', count(p.invocations)),
      datum('InvocationsPerInstance', 'Count', count(instances ? p.invocations / instances : p.invocations)),
      datum('Invocation4XXErrors', 'Count', count(p.errors4xx)),
      datum('Invocation5XXErrors', 'Count', count(p.errors5xx)),
      ...latency,
      ...(p.overheadLatencyUs.values() ? [datum('OverheadLatency', 'Microseconds', p.overheadLatencyUs.values())] : []),
    ];
  }

  private concurrencyData(target: InvocationTarget, set: StatisticSet, Timestamp: Date): MetricDatum[] {
    const MetricName = target.inferenceComponentName ? 'ConcurrentRequestsPerCopy' : 'ConcurrentRequestsPerModel';
    const fleet = target.inferenceComponentName
      ? this.opts.sizes.copies(target.inferenceComponentName)
      : this.opts.sizes.instances(target.endpointName, target.variantName);
    const per = Math.max(1, fleet);
    const values = set.values()!;
    return [
      {
        MetricName,
        Dimensions: dimensionsOf(target),
        Timestamp,
        Unit: 'Count',
        StatisticValues: { SampleCount: values.SampleCount, Sum: values.Sum / per, Minimum: values.Minimum / per, Maximum: values.Maximum / per },
        StorageResolution: 1,
      },
    ];
  }
}

/** AWS's dimensions: a component's metrics carry its name only, a variant's the endpoint and variant. */
export function dimensionsOf(target: InvocationTarget): { Name: string; Value: string }[] {
  if (target.inferenceComponentName) return [{ Name: 'InferenceComponentName', Value: target.inferenceComponentName }];
  return [
    { Name: 'EndpointName', Value: target.endpointName },
    { Name: 'VariantName', Value: target.variantName },
  ];
}
