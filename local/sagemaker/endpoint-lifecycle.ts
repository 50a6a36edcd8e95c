// The endpoint state machine, driven by real model processes through the container pool.
//
//   CreateEndpoint   Creating ──launch+activate──▶ InService
//                            └─ContainerStartError─▶ Failed (FailureReason = err.reason)
//   UpdateEndpoint   InService ▶ Updating ──launch new fleet (old keeps serving)──▶ activate ▶ InService (new config)
//                                        └─failure─▶ RollingBack ▶ InService (old config, FailureReason set)
//                    (of a model-based endpoint: the rollout its DeploymentConfig asks for, endpoint-rollout.ts)
//   DeleteEndpoint   InService / Failed / OutOfService ▶ Deleting ──deactivate──▶ gone
//                    (refused while Creating, Updating, SystemUpdating or RollingBack, as on AWS: endpoints.ts)
//
// Operations on one endpoint run one after another (background-operations.ts), so the pool
// never sees two at once for a name. A delete still supersedes any operation in flight (whose
// processes the pool stops before it rejects): none should be, since DeleteEndpoint is refused
// while one runs, but a delete must never queue behind a launch that waits out a health check.
// Aborting never writes state: an operation cut short by shutdown leaves its record as it was,
// and `recover` picks it up at the next start.
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { Logger } from 'pino';
import { launchFailureReason, type ContainerPoolApi, type Fleet } from '../instances/types.js';
import { TimeScale } from '../metrics/time-scale.js';
import { BackgroundOperations, type OperationOptions } from './background-operations.js';
import { EndpointRollout } from './endpoint-rollout.js';
import { deployedFleet, type EndpointRecord, type SageMakerStore } from './store.js';

export class EndpointLifecycle {
  private readonly operations: BackgroundOperations;
  private readonly rollout: EndpointRollout;

  constructor(
    private readonly store: SageMakerStore,
    private readonly pool: ContainerPoolApi,
    private readonly log: Logger,
    /** Stops what else runs on the endpoint (its inference components' copies) before it is forgotten. */
    private readonly onDeleted: (endpointName: string) => Promise<void> = async () => undefined,
    /** What rollouts evaluate their auto-rollback alarms with, and how fast their waits run. */
    rollouts: { cloudWatch?: () => CloudWatchClient; timeScale?: TimeScale } = {},
  ) {
    this.operations = new BackgroundOperations(log, { field: 'endpoint', operation: 'endpoint operation' });
    this.rollout = new EndpointRollout({
      pool,
      cloudWatch: rollouts.cloudWatch,
      timeScale: rollouts.timeScale ?? new TimeScale(1),
      log,
      transition: (endpoint, changes) => this.transition(endpoint, changes),
    });
  }

  /** Starts the fleet in `endpoint.pending`; the caller has saved the record as Creating/Updating. */
  launch(endpoint: EndpointRecord): void {
    const run = endpoint.pending?.plan && endpoint.deployed ? this.rollout.run.bind(this.rollout) : this.launchPending.bind(this);
    this.operations.start(endpoint.EndpointName, (signal) => run(endpoint, signal), {
      fail: (err) => this.launchFailed(endpoint, launchFailureReason(err)),
    });
  }

  /** DeleteEndpoint: stops any in-flight launch, marks Deleting, then stops serving and forgets it. */
  delete(endpoint: EndpointRecord): void {
    this.transition(endpoint, { EndpointStatus: 'Deleting' });
    this.finishDeleteLater(endpoint, { supersede: true });
  }

  /**
   * After a restart no model process survives, so every endpoint that had one is brought back:
   * - InService (and SystemUpdating): `SystemUpdating` while the serving fleet relaunches from the
   *   spec saved on the endpoint, then InService again (or Failed with the reason). AWS uses
   *   SystemUpdating for maintenance that changes nothing the customer specified, which is what
   *   this is; invocations are refused until it is InService.
   * - Creating: the create resumes.
   * - Updating / RollingBack: the update (a rollout too, whatever stage it had reached) is
   *   abandoned, i.e. rolled back: the endpoint relaunches its previous config like an InService
   *   one and ends InService with a FailureReason saying so, which is how a failed update looks
   *   on AWS.
   * - Deleting: the deletion completes.
   * - Failed, OutOfService: left as they are.
   */
  recover(): void {
    for (const endpoint of this.store.endpoints.values()) {
      const { EndpointStatus: status, pending, deployed } = endpoint;
      if (status === 'Deleting') {
        this.finishDeleteLater(endpoint);
      } else if (status === 'Creating' && pending) {
        this.launch(endpoint);
      } else if (['InService', 'SystemUpdating', 'Updating', 'RollingBack'].includes(status) && deployed) {
        const interruptedUpdate = pending?.kind === 'update' ? pending.EndpointConfigName : undefined;
        this.transition(endpoint, {
          EndpointStatus: 'SystemUpdating',
          FailureReason: interruptedUpdate
            ? `The update to endpoint configuration "${interruptedUpdate}" was interrupted by a restart of the local cloud; the endpoint stays on "${deployed.EndpointConfigName}".`
            : endpoint.FailureReason,
          deployed: { ...deployed, instanceCounts: Object.fromEntries(Object.keys(deployed.instanceCounts).map((v) => [v, 0])) },
          pending: {
            kind: 'relaunch',
            EndpointConfigName: deployed.EndpointConfigName,
            variants: deployed.variants,
            capacity: deployed.capacity,
            startedAt: Date.now(),
          },
        });
        this.launch(endpoint);
      } else if (status !== 'Failed' && status !== 'OutOfService') {
        this.transition(endpoint, {
          EndpointStatus: 'Failed',
          FailureReason: 'The local cloud restarted while this endpoint was changing and nothing was left to resume.',
          pending: undefined,
        });
      }
    }
  }

  /** Shutdown: abort every operation, stop every process, and wait (boundedly) for them to settle. */
  async close(): Promise<void> {
    this.operations.abortAll();
    await this.pool.stopAll();
    await this.operations.settle();
  }

  private finishDeleteLater(endpoint: EndpointRecord, opts: OperationOptions = {}): void {
    this.operations.start(endpoint.EndpointName, () => this.finishDelete(endpoint), opts);
  }

  private transition(endpoint: EndpointRecord, changes: Partial<EndpointRecord>): void {
    Object.assign(endpoint, changes, { LastModifiedTime: Date.now() });
    this.store.save();
    this.log.info({ endpoint: endpoint.EndpointName, status: endpoint.EndpointStatus, failureReason: endpoint.FailureReason }, 'endpoint status');
  }

  private async launchPending(endpoint: EndpointRecord, signal: AbortSignal): Promise<void> {
    const pending = endpoint.pending;
    if (!pending || signal.aborted) return;
    const name = endpoint.EndpointName;
    let fleet: Fleet | undefined;
    try {
      // Inference-component variants (no model) contribute no processes of their own.
      // The signal cancels the launch itself: the pool stops what it started and rejects at once.
      if (pending.variants.length) fleet = await this.pool.launch(name, pending.variants, { signal, label: pending.EndpointConfigName });
      if (signal.aborted) {
        await fleet?.stop();
        return;
      }
      if (fleet) await this.pool.activate(name, fleet);
    } catch (err) {
      await fleet?.stop().catch(() => undefined);
      if (signal.aborted) return;
      throw err; // recorded by launchFailed
    }
    if (signal.aborted) return; // a delete is waiting and will deactivate what was just activated
    this.transition(endpoint, {
      EndpointStatus: 'InService',
      EndpointConfigName: pending.EndpointConfigName,
      // A relaunch after restart keeps the reason `recover` gave (an update it abandoned, a past failure).
      FailureReason: pending.kind === 'relaunch' ? endpoint.FailureReason : undefined,
      pending: undefined,
      deployed: deployedFleet(pending, Object.fromEntries((fleet?.variants ?? []).map((v) => [v.variantName, v.instances.length]))),
    });
  }

  private launchFailed(endpoint: EndpointRecord, reason: string): void {
    const pending = endpoint.pending!;
    if (pending.kind === 'update' && endpoint.deployed) {
      // The old fleet never stopped serving, so rolling back is only a matter of state.
      this.transition(endpoint, { EndpointStatus: 'RollingBack' });
      this.transition(endpoint, {
        EndpointStatus: 'InService',
        FailureReason: `Update to endpoint configuration "${pending.EndpointConfigName}" failed and was rolled back: ${reason}`,
        pending: undefined,
      });
    } else {
      this.transition(endpoint, { EndpointStatus: 'Failed', FailureReason: reason, pending: undefined, deployed: undefined });
    }
  }

  private async finishDelete(endpoint: EndpointRecord): Promise<void> {
    try {
      await this.onDeleted(endpoint.EndpointName);
      await this.pool.deactivate(endpoint.EndpointName);
    } catch (err) {
      this.log.warn({ err, endpoint: endpoint.EndpointName }, 'deactivate failed; forgetting the endpoint anyway');
    }
    this.store.remove(this.store.endpoints, endpoint.EndpointName, endpoint.EndpointArn);
    this.log.info({ endpoint: endpoint.EndpointName }, 'endpoint deleted');
  }
}
