// The model processes behind every endpoint of the local cloud: fleets are launched (one process
// per instance), activated to take an endpoint's traffic (replacing the previous fleet, as a
// blue/green update does), given a share of it while a rollout shifts traffic (canary, linear),
// and picked from per request.
import { delimiter } from 'node:path';
import pino, { type Logger } from 'pino';
import { FAMILY_ENV, MODELS_DIRS_ENV, THREADS_ENV } from '../model-server/config.js';
import { describeSupportedImages, imageFamilyOf } from '../model-server/image-family.js';
import { ModelNotFoundError, resolveModelFile } from '../model-server/gguf-lookup.js';
import { isHostRuntimeVariable } from '../model-server/process-env.js';
import { type RunningInstance, startInstance } from './instance.js';
import {
  ContainerStartError,
  LaunchAbortedError,
  type ContainerPoolApi,
  type Fleet,
  type LaunchOptions,
  type PickedInstance,
  type VariantLaunch,
} from './types.js';
import { logLevel } from '../../common/config.js';

interface VariantState {
  variantName: string;
  weight: number;
  instances: RunningInstance[];
  /** Round-robin position within the variant. */
  next: number;
}

class LocalFleet implements Fleet {
  /** Aborted by stop(): instances still starting stop their own process instead of joining. */
  private readonly cancel = new AbortController();
  /** Instance starts not yet settled; stop() waits for them, so none can join after it looked. */
  private readonly starting = new Set<Promise<void>>();
  private stopping: Promise<void> | undefined;

  constructor(
    readonly id: string,
    readonly endpointName: string,
    readonly states: VariantState[],
    private readonly onStopped: (fleet: LocalFleet) => void,
    readonly label?: string,
  ) {}

  get variants() {
    return this.states.map((v) => ({
      variantName: v.variantName,
      instances: v.instances.map(({ url, pid }) => ({ url, pid })),
    }));
  }

  get stopped(): boolean {
    return this.stopping !== undefined;
  }

  /** What instance starts for this fleet must be given: aborted once the fleet is stopped. */
  get signal(): AbortSignal {
    return this.cancel.signal;
  }

  /** Tracks one instance start: a healthy instance joins its variant, and is stopped at once if the fleet was stopped meanwhile. */
  track(state: VariantState, start: Promise<RunningInstance>): Promise<void> {
    const joined = start.then(async (instance) => {
      state.instances.push(instance);
      if (this.stopped) await instance.process.stop();
    });
    this.starting.add(joined);
    const untrack = () => void this.starting.delete(joined);
    joined.then(untrack, untrack);
    return joined;
  }

  /**
   * Stops every process, including those still starting: the abort makes a start in flight stop
   * its own process; one that became healthy first has joined `states` by the time its promise
   * settles, so it is stopped with the rest. Idempotent; every caller waits for the same stop.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopEverything();
    return this.stopping;
  }

  private async stopEverything(): Promise<void> {
    await Promise.resolve(); // `stopping` is set before any abort listener can call stop() again
    this.cancel.abort();
    await Promise.allSettled([...this.starting]);
    await Promise.all(this.states.flatMap((v) => v.instances.map((i) => i.process.stop())));
    this.onStopped(this);
  }

  pick(targetVariant?: string): PickedInstance | undefined {
    const serving = this.states.filter((v) => v.instances.some((i) => i.alive));
    const variant = targetVariant ? serving.find((v) => v.variantName === targetVariant) : weightedChoice(serving);
    if (!variant) return undefined;
    const n = variant.instances.length;
    for (let k = 0; k < n; k++) {
      const index = (variant.next + k) % n;
      const instance = variant.instances[index];
      if (!instance.alive) continue;
      variant.next = index + 1;
      return { variantName: variant.variantName, url: instance.url, fleet: this.label };
    }
    return undefined;
  }
}

/** Random by InitialVariantWeight; variants weighted 0 get no traffic unless all are 0. */
function weightedChoice(variants: VariantState[]): VariantState | undefined {
  const total = variants.reduce((sum, v) => sum + Math.max(v.weight, 0), 0);
  if (total <= 0) return variants[Math.floor(Math.random() * variants.length)];
  let r = Math.random() * total;
  for (const v of variants) {
    r -= Math.max(v.weight, 0);
    if (r < 0) return v;
  }
  return variants.findLast((v) => v.weight > 0);
}

interface VariantPlan {
  launch: VariantLaunch;
  env: Record<string, string>;
}

export interface ContainerPoolOptions {
  /** Where `<HF_MODEL_ID>/*.gguf` is looked up (dev/tools.ts modelsDirs()). */
  modelsDirs: string[];
  /** Per-process logs, laid out like CloudWatch log streams: `<endpoint>/<variant>/<instance>.log`. */
  logDir: string;
  /** llama.cpp threads per model process (default 1). */
  threads?: number;
  /**
   * Variables the host (whoever runs the pool, never a model) adds to a variant's processes,
   * including those a model may not set: tests preload a fixture with NODE_OPTIONS this way.
   */
  processEnvironment?: (launch: VariantLaunch) => Record<string, string>;
  logger?: Logger;
}

export class ContainerPool implements ContainerPoolApi {
  private readonly active = new Map<string, LocalFleet>();
  /** Per endpoint, the fleet a rollout shifts part of the traffic to, and its share (0..1). */
  private readonly shifted = new Map<string, { fleet: LocalFleet; share: number }>();
  private readonly fleets = new Set<LocalFleet>();
  private readonly logger: Logger;
  private launched = 0;

  constructor(private readonly opts: ContainerPoolOptions) {
    // stdout may be a protocol or a CLI's output; diagnostics go to stderr, as local/main.ts's do.
    this.logger = opts.logger ?? pino({ name: 'container-pool', level: logLevel() }, pino.destination(2));
  }

  /** Every reason a variant cannot start that is knowable without starting it, checked before any spawn. */
  private plan(launch: VariantLaunch): VariantPlan {
    const { variantName, image, environment } = launch;
    const family = imageFamilyOf(image);
    if (!family) {
      throw new ContainerStartError(`Production variant ${variantName}: the image '${image}' is not one the local cloud can run. ${describeSupportedImages()}`);
    }
    if (!family.supported) {
      throw new ContainerStartError(
        `Production variant ${variantName}: ${family.title} images ('${image}') are not supported by the local cloud yet. ${describeSupportedImages()}`,
      );
    }
    try {
      resolveModelFile({ modelId: environment.HF_MODEL_ID, modelFile: environment.HF_MODEL_FILE, dirs: this.opts.modelsDirs });
    } catch (err) {
      if (err instanceof ModelNotFoundError) throw new ContainerStartError(`Production variant ${variantName}: ${err.message}`);
      throw err;
    }
    // CreateModel refuses these; a state file written before it did may still hold them.
    const refused = Object.keys(environment).filter(isHostRuntimeVariable);
    if (refused.length > 0) {
      this.logger.warn({ variant: variantName, variables: refused }, 'dropped host runtime variables from the model environment');
    }
    const modelEnvironment = Object.fromEntries(Object.entries(environment).filter(([name]) => !isHostRuntimeVariable(name)));
    return {
      launch,
      env: {
        [THREADS_ENV]: String(this.opts.threads ?? 1),
        ...modelEnvironment,
        [MODELS_DIRS_ENV]: this.opts.modelsDirs.join(delimiter),
        [FAMILY_ENV]: family.name,
        ...this.opts.processEnvironment?.(launch),
      },
    };
  }

  /**
   * Starts every instance and waits until all are healthy. The first instance that cannot start
   * stops the rest (there is no point waiting out their health checks) and its reason is thrown
   * as a ContainerStartError. Aborting `opts.signal`, or stopAll(), stops every process this
   * launch started and makes it reject with a LaunchAbortedError once they have exited.
   */
  async launch(endpointName: string, variants: VariantLaunch[], opts: LaunchOptions = {}): Promise<Fleet> {
    const { signal } = opts;
    const cancelled = () =>
      new LaunchAbortedError(
        signal?.aborted
          ? `The launch for endpoint ${endpointName} was aborted; the processes it started were stopped.`
          : `The launch for endpoint ${endpointName} was cut short because the container pool stopped.`,
        { cause: signal?.reason },
      );
    if (signal?.aborted) throw cancelled();
    const plans = variants.map((v) => this.plan(v));
    const states: VariantState[] = plans.map(({ launch }) => ({
      variantName: launch.variantName,
      weight: launch.weight,
      instances: [],
      next: 0,
    }));
    const fleet = new LocalFleet(`${endpointName}-fleet-${++this.launched}`, endpointName, states, (f) => this.fleets.delete(f), opts.label);
    this.fleets.add(fleet);
    const abort = () => void fleet.stop();
    signal?.addEventListener('abort', abort, { once: true });
    let failure: unknown;
    try {
      const starts = plans.flatMap(({ launch, env }, v) =>
        Array.from({ length: launch.instanceCount }, () =>
          fleet
            .track(
              states[v],
              startInstance({
                endpointName,
                variantName: launch.variantName,
                env,
                logDir: this.opts.logDir,
                healthCheckTimeoutSeconds: launch.healthCheckTimeoutSeconds,
                logger: this.logger,
                signal: fleet.signal,
              }),
            )
            .catch((err: unknown) => {
              // The first real failure decides the launch; the starts it cancels fail with LaunchAbortedError.
              if (!fleet.stopped) {
                failure = err;
                void fleet.stop();
              }
            }),
        ),
      );
      await Promise.all(starts);
    } finally {
      signal?.removeEventListener('abort', abort);
    }
    if (signal?.aborted || (fleet.stopped && failure === undefined)) {
      // Aborted, or stopAll(): every start has settled, and stop() stops whatever got healthy.
      await fleet.stop();
      this.logger.info({ endpoint: endpointName, fleet: fleet.id }, 'launch cancelled; its processes were stopped');
      throw cancelled();
    }
    if (failure !== undefined) {
      await fleet.stop();
      throw failure instanceof ContainerStartError ? failure : new ContainerStartError(String(failure));
    }
    this.logger.info({ endpoint: endpointName, fleet: fleet.id, variants: fleet.variants }, 'fleet healthy');
    return fleet;
  }

  async activate(endpointName: string, fleet: Fleet): Promise<void> {
    if (!(fleet instanceof LocalFleet) || !this.fleets.has(fleet) || fleet.stopped) {
      throw new Error(`Fleet ${fleet.id} was not launched by this pool or has been stopped`);
    }
    const previous = this.active.get(endpointName);
    this.active.set(endpointName, fleet);
    this.shifted.delete(endpointName);
    this.logger.info({ endpoint: endpointName, fleet: fleet.id, replaces: previous?.id }, 'fleet serving');
    if (previous && previous !== fleet) await previous.stop();
  }

  shift(endpointName: string, fleet: Fleet | undefined, share: number): void {
    if (!fleet) {
      this.shifted.delete(endpointName);
      return;
    }
    if (!(fleet instanceof LocalFleet) || !this.fleets.has(fleet) || fleet.stopped) {
      throw new Error(`Fleet ${fleet.id} was not launched by this pool or has been stopped`);
    }
    this.shifted.set(endpointName, { fleet, share: Math.min(1, Math.max(0, share)) });
    this.logger.info({ endpoint: endpointName, fleet: fleet.id, share }, 'traffic shifted');
  }

  async deactivate(endpointName: string): Promise<void> {
    const fleet = this.active.get(endpointName);
    const shifted = this.shifted.get(endpointName)?.fleet;
    this.active.delete(endpointName);
    this.shifted.delete(endpointName);
    await Promise.all([fleet?.stop(), shifted?.stop()]);
  }

  /** One weighted draw per request between the shifted fleet and the active one; either stands in when the other has no live instance. */
  pick(endpointName: string, targetVariant?: string): PickedInstance | undefined {
    const active = this.active.get(endpointName);
    const shifted = this.shifted.get(endpointName);
    if (!shifted || shifted.fleet.stopped) return active?.pick(targetVariant);
    const [first, second] = Math.random() < shifted.share ? [shifted.fleet, active] : [active, shifted.fleet];
    return first?.pick(targetVariant) ?? second?.pick(targetVariant);
  }

  /** Stops every fleet, serving or not, and every launch in flight (which then rejects with LaunchAbortedError). */
  async stopAll(): Promise<void> {
    this.active.clear();
    this.shifted.clear();
    await Promise.all([...this.fleets].map((f) => f.stop()));
  }
}
