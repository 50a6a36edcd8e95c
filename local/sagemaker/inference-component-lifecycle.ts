// The inference-component state machine, driven by real model processes: one process (a
// one-instance fleet from the container pool) per copy, placed on the endpoint's instances by
// ic-placement.ts and served through the copy router.
//
//   CreateInferenceComponent               Creating ──copies healthy──▶ InService (short of copies + FailureReason if some fit nowhere)
//                                                   └─no copy started──▶ Failed + FailureReason
//   UpdateInferenceComponentRuntimeConfig  InService ▶ Updating ──add or remove copies──▶ InService
//   UpdateInferenceComponent (new spec)    InService ▶ Updating ──rolling batches: start new copies, retire old──▶ InService (new spec)
//                                                                └─a new copy fails──▶ old copies restored ▶ InService (old spec) + FailureReason
//   DeleteInferenceComponent               any ▶ Deleting ──stop copies──▶ gone
//
// Operations on one component run one after another (background-operations.ts); placement is
// synchronous, so components of one endpoint never race for the same room.
import { setTimeout as sleep } from 'node:timers/promises';
import type { InferenceComponentCapacitySize } from '@aws-sdk/client-sagemaker';
import type { Logger } from 'pino';
import { instanceTypeSize, type CopyRequirements } from '../../common/instance-types.js';
import { ComponentCopyRouter, type RoutingStrategy, type ServingCopy } from '../instances/component-copies.js';
import { launchFailureReason, type ContainerPoolApi } from '../instances/types.js';
import { BackgroundOperations } from './background-operations.js';
import { DEFAULT_HEALTH_CHECK_TIMEOUT_SECONDS } from './endpoints.js';
import { newCapacity, noRoomReason, placeCopy, releaseCopy, removeEmptyInstances, type VariantCapacity } from './ic-placement.js';
import type { CapacityVariant, EndpointRecord, InferenceComponentRecord, SageMakerStore } from './store.js';

/** What a component's copies ask for, from its spec's ComputeResourceRequirements. */
export function copyRequirements(ic: Pick<InferenceComponentRecord, 'Specification'>): CopyRequirements {
  const r = ic.Specification.ComputeResourceRequirements;
  return { cpus: r?.NumberOfCpuCoresRequired ?? 0, acceleratorDevices: r?.NumberOfAcceleratorDevicesRequired ?? 0, memoryMiB: r?.MinMemoryRequiredInMb ?? 0 };
}

/**
 * Copies replaced per batch: MaximumBatchSize as a copy count, or as a percentage of the desired
 * copies (rounded up); without a policy, all at once. At least one.
 */
export function rollingBatchSize(size: InferenceComponentCapacitySize | undefined, desired: number): number {
  const n =
    size?.Type === 'COPY_COUNT' ? (size.Value ?? desired) : size?.Type === 'CAPACITY_PERCENT' ? Math.ceil(((size.Value ?? 100) * desired) / 100) : desired;
  return Math.max(1, n);
}

interface Scaled {
  /** Copies that fit on no instance. */
  unplaced: number;
  /** The first copy that could not start, as a FailureReason. */
  startFailure?: string;
}

export class InferenceComponentLifecycle {
  readonly router = new ComponentCopyRouter();
  private readonly operations: BackgroundOperations;
  /** Per endpoint (lowercased name), the instances of each capacity variant; built when first needed. */
  private readonly capacities = new Map<string, VariantCapacity[]>();
  private copies = 0;

  constructor(
    private readonly store: SageMakerStore,
    private readonly pool: ContainerPoolApi,
    private readonly log: Logger,
  ) {
    this.operations = new BackgroundOperations(log, { field: 'inferenceComponent', operation: 'inference component operation' });
  }

  /** The instances of an endpoint's capacity variant, as the endpoint's serving config created them. */
  capacity(endpoint: EndpointRecord, variantName: string): VariantCapacity | undefined {
    const key = endpoint.EndpointName.toLowerCase();
    let variants = this.capacities.get(key);
    if (!variants) {
      const specs = endpoint.deployed?.capacity;
      if (!specs) return undefined;
      variants = specs.map((v) => capacityOf(v));
      this.capacities.set(key, variants);
    }
    return variants.find((v) => v.variantName.toLowerCase() === variantName.toLowerCase());
  }

  /** CurrentInstanceCount of a capacity variant; undefined before the endpoint is InService. */
  instanceCount(endpoint: EndpointRecord, variantName: string): number | undefined {
    return this.capacity(endpoint, variantName)?.instances.length;
  }

  /** CreateInferenceComponent: the caller has saved the record as Creating. */
  create(ic: InferenceComponentRecord): void {
    this.register(ic);
    this.operations.start(
      ic.InferenceComponentName,
      async (signal) => {
        const { unplaced, startFailure } = await this.scaleTo(ic, ic.DesiredCopyCount, signal);
        if (signal.aborted) return;
        const serving = this.router.copies(ic.InferenceComponentName).length;
        const shortfall = startFailure ?? (unplaced > 0 ? this.noRoom(ic, unplaced) : undefined);
        if (serving === 0 && ic.DesiredCopyCount > 0) {
          this.transition(ic, { InferenceComponentStatus: 'Failed', FailureReason: shortfall });
        } else {
          this.transition(ic, { InferenceComponentStatus: 'InService', FailureReason: shortfall });
        }
      },
      { fail: (err) => this.transition(ic, { InferenceComponentStatus: 'Failed', FailureReason: launchFailureReason(err) }) },
    );
  }

  /** UpdateInferenceComponentRuntimeConfig (and UpdateInferenceComponent without a new spec). */
  scale(ic: InferenceComponentRecord): void {
    this.operations.start(
      ic.InferenceComponentName,
      async (signal) => {
        const { unplaced, startFailure } = await this.scaleTo(ic, ic.DesiredCopyCount, signal);
        if (signal.aborted) return;
        this.transition(ic, {
          InferenceComponentStatus: 'InService',
          FailureReason: startFailure ?? (unplaced > 0 ? this.noRoom(ic, unplaced) : undefined),
        });
      },
      { fail: (err) => this.transition(ic, { InferenceComponentStatus: 'InService', FailureReason: launchFailureReason(err) }) },
    );
  }

  /**
   * UpdateInferenceComponent with a new spec: a rolling replacement, MaximumBatchSize copies at a
   * time (COPY_COUNT, or CAPACITY_PERCENT of the desired count), WaitIntervalInSeconds between
   * batches. New copies serve before old ones retire; if a new copy cannot start, the new copies
   * are stopped, the retired old ones restarted, and the component stays on its old spec.
   */
  rollingUpdate(ic: InferenceComponentRecord, next: Pick<InferenceComponentRecord, 'Specification' | 'container'>): void {
    this.operations.start(
      ic.InferenceComponentName,
      async (signal) => {
        const policy = ic.LastDeploymentConfig?.RollingUpdatePolicy;
        const desired = ic.DesiredCopyCount;
        const batch = rollingBatchSize(policy?.MaximumBatchSize, desired);
        const waitMs = (policy?.WaitIntervalInSeconds ?? 0) * 1000;
        const old = [...this.router.copies(ic.InferenceComponentName)];
        const started: ServingCopy[] = [];
        let retired = 0;
        const previous = { Specification: ic.Specification, container: ic.container };
        while (started.length < desired || retired < old.length) {
          if (signal.aborted) return;
          const n = Math.min(batch, Math.max(desired - started.length, 0));
          const fresh = { ...ic, ...next };
          let result = await this.startCopies(fresh, n, signal);
          let roundRetired = 0;
          if (result.unplaced > 0 && !result.startFailure && retired < old.length) {
            // No room beside the old copies: retire a batch of them first, then try again.
            roundRetired = await this.retire(ic, old.slice(retired, retired + Math.min(batch, old.length - retired)));
            retired += roundRetired;
            const more = await this.startCopies(fresh, result.unplaced, signal);
            result = { ...more, started: [...result.started, ...more.started] };
          }
          started.push(...result.started);
          if (signal.aborted) return;
          if (result.startFailure || result.unplaced > 0) {
            await this.retire(ic, started);
            const failure = result.startFailure ?? this.noRoom(ic, result.unplaced);
            await this.startCopies({ ...ic, ...previous }, retired, signal);
            this.transition(ic, {
              InferenceComponentStatus: 'InService',
              FailureReason: `The rolling update was rolled back; the inference component stays on its previous specification: ${failure}`,
            });
            return;
          }
          retired += await this.retire(ic, old.slice(retired, retired + Math.max(0, Math.min(batch - roundRetired, old.length - retired))));
          if ((started.length < desired || retired < old.length) && waitMs > 0) await sleep(waitMs, undefined, { signal });
        }
        this.transition(ic, { InferenceComponentStatus: 'InService', FailureReason: undefined, ...next });
      },
      { fail: (err) => this.transition(ic, { InferenceComponentStatus: 'InService', FailureReason: launchFailureReason(err) }) },
    );
  }

  /** DeleteInferenceComponent: stops every copy, then forgets the component. */
  delete(ic: InferenceComponentRecord): void {
    this.transition(ic, { InferenceComponentStatus: 'Deleting' });
    this.operations.start(
      ic.InferenceComponentName,
      async () => {
        await this.retire(ic, [...this.router.copies(ic.InferenceComponentName)]);
        this.router.unregister(ic.InferenceComponentName);
        this.store.remove(this.store.inferenceComponents, ic.InferenceComponentName, ic.InferenceComponentArn);
        this.log.info({ inferenceComponent: ic.InferenceComponentName }, 'inference component deleted');
      },
      { supersede: true },
    );
  }

  /** The endpoint is going away: its components' copies stop and the components are forgotten, as their endpoint's are on AWS. */
  async endpointDeleted(endpointName: string): Promise<void> {
    const mine = this.store.inferenceComponents.values().filter((ic) => ic.EndpointName.toLowerCase() === endpointName.toLowerCase());
    await Promise.all(
      mine.map(async (ic) => {
        this.operations.abort(ic.InferenceComponentName);
        await Promise.all(this.router.unregister(ic.InferenceComponentName).map((c) => c.fleet.stop()));
        this.store.remove(this.store.inferenceComponents, ic.InferenceComponentName, ic.InferenceComponentArn);
      }),
    );
    this.capacities.delete(endpointName.toLowerCase());
  }

  /**
   * After a restart no copy survives: components that were serving or changing start their
   * desired copies again (Creating while they do); Deleting ones are forgotten.
   */
  recover(): void {
    for (const ic of this.store.inferenceComponents.values()) {
      if (ic.InferenceComponentStatus === 'Deleting') {
        this.store.remove(this.store.inferenceComponents, ic.InferenceComponentName, ic.InferenceComponentArn);
      } else if (ic.InferenceComponentStatus !== 'Failed') {
        this.transition(ic, { InferenceComponentStatus: 'Creating' });
        this.create(ic);
      }
    }
  }

  async close(): Promise<void> {
    this.operations.abortAll();
    await this.operations.settle();
  }

  private register(ic: InferenceComponentRecord): void {
    const endpoint = this.store.endpoints.get(ic.EndpointName);
    const variant = endpoint?.deployed?.capacity?.find((v) => v.variantName === ic.VariantName);
    const strategy = (variant?.RoutingConfig?.RoutingStrategy ?? 'LEAST_OUTSTANDING_REQUESTS') as RoutingStrategy;
    this.router.register(ic.InferenceComponentName, ic.EndpointName, ic.VariantName, strategy === 'RANDOM' ? 'RANDOM' : 'LEAST_OUTSTANDING_REQUESTS');
  }

  private capacityFor(ic: InferenceComponentRecord): VariantCapacity | undefined {
    const endpoint = this.store.endpoints.get(ic.EndpointName);
    return endpoint && this.capacity(endpoint, ic.VariantName);
  }

  private noRoom(ic: InferenceComponentRecord, unplaced: number): string {
    const capacity = this.capacityFor(ic);
    return capacity ? noRoomReason(capacity, ic.InferenceComponentName, unplaced) : `Endpoint ${ic.EndpointName} has no instances for inference components.`;
  }

  private async scaleTo(ic: InferenceComponentRecord, target: number, signal: AbortSignal): Promise<Scaled> {
    this.register(ic);
    const current = [...this.router.copies(ic.InferenceComponentName)];
    if (target < current.length) {
      // Scale-in retires the newest copies first.
      await this.retire(ic, current.slice(target).reverse());
      return { unplaced: 0 };
    }
    const { unplaced, startFailure } = await this.startCopies(ic, target - current.length, signal);
    return { unplaced, startFailure };
  }

  /** Places and starts `count` copies of `ic`'s spec; those that start join the router. */
  private async startCopies(ic: InferenceComponentRecord, count: number, signal: AbortSignal): Promise<Scaled & { started: ServingCopy[] }> {
    const capacity = this.capacityFor(ic);
    if (!capacity || count <= 0) return { unplaced: count > 0 ? count : 0, started: [] };
    const placed: { copyId: string; instanceId: string }[] = [];
    const requirements = copyRequirements(ic);
    for (let i = 0; i < count; i++) {
      const copyId = `${ic.InferenceComponentName}-copy-${++this.copies}`;
      const instance = placeCopy(capacity, { copyId, component: ic.InferenceComponentName, requirements });
      if (!instance) break;
      placed.push({ copyId, instanceId: instance.instanceId });
    }
    const unplaced = count - placed.length;
    const healthCheckTimeoutSeconds = ic.Specification.StartupParameters?.ContainerStartupHealthCheckTimeoutInSeconds ?? DEFAULT_HEALTH_CHECK_TIMEOUT_SECONDS;
    const results = await Promise.allSettled(
      placed.map(async ({ copyId, instanceId }) => {
        const fleet = await this.pool.launch(
          ic.EndpointName,
          [
            {
              variantName: ic.InferenceComponentName,
              image: ic.container.image,
              environment: { ...ic.container.environment },
              instanceCount: 1,
              healthCheckTimeoutSeconds,
              weight: 1,
            },
          ],
          { signal },
        );
        const url = fleet.variants[0]?.instances[0]?.url;
        if (!url || signal.aborted) {
          await fleet.stop();
          throw new Error('the copy was cancelled');
        }
        const copy: ServingCopy = { copyId, instanceId, url, fleet, outstanding: 0 };
        this.router.add(ic.InferenceComponentName, copy);
        return copy;
      }),
    );
    const started: ServingCopy[] = [];
    let startFailure: string | undefined;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        started.push(r.value);
        return;
      }
      releaseCopy(capacity, placed[i].copyId);
      if (!signal.aborted) {
        // The pool speaks of the production variant it was given, which is the component here.
        startFailure ??= launchFailureReason(r.reason, (reason) =>
          reason
            .replace(`Production variant ${ic.InferenceComponentName}`, `Inference component ${ic.InferenceComponentName}`)
            .replace(`production variant ${ic.InferenceComponentName}`, `inference component ${ic.InferenceComponentName}`),
        );
      }
    });
    removeEmptyInstances(capacity);
    this.log.info({ inferenceComponent: ic.InferenceComponentName, started: started.length, unplaced }, 'inference component copies started');
    return { unplaced, startFailure, started };
  }

  /** Takes copies out of rotation, stops their processes and frees their room; returns how many. */
  private async retire(ic: InferenceComponentRecord, copies: ServingCopy[]): Promise<number> {
    const capacity = this.capacityFor(ic);
    await Promise.all(
      copies.map(async (c) => {
        this.router.remove(ic.InferenceComponentName, c.copyId);
        await c.fleet.stop();
        if (capacity) releaseCopy(capacity, c.copyId);
      }),
    );
    if (capacity) removeEmptyInstances(capacity);
    return copies.length;
  }

  private transition(ic: InferenceComponentRecord, changes: Partial<InferenceComponentRecord>): void {
    Object.assign(ic, changes, { LastModifiedTime: Date.now() });
    this.store.save();
    this.log.info(
      { inferenceComponent: ic.InferenceComponentName, status: ic.InferenceComponentStatus, failureReason: ic.FailureReason },
      'inference component status',
    );
  }
}

function capacityOf(v: CapacityVariant): VariantCapacity {
  const size = instanceTypeSize(v.instanceType) ?? { vCpus: Infinity, acceleratorDevices: Infinity, memoryMiB: Infinity };
  const scaling = v.ManagedInstanceScaling;
  const managed = scaling?.Status === 'ENABLED' ? { min: scaling.MinInstanceCount ?? 1, max: scaling.MaxInstanceCount ?? v.initialInstanceCount } : undefined;
  return newCapacity(v.variantName, v.instanceType, size, v.initialInstanceCount, managed);
}
