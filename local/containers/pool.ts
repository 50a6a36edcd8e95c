// The model processes behind every endpoint of the local cloud: fleets are launched (one process
// per instance), activated to take an endpoint's traffic (replacing the previous fleet, as a
// blue/green update does), and picked from per request.
import { delimiter } from 'node:path';
import pino, { type Logger } from 'pino';
import { FAMILY_ENV, MODELS_DIRS_ENV, THREADS_ENV } from '../container/config.js';
import { describeSupportedImages, imageFamilyOf } from '../container/image-family.js';
import { ModelNotFoundError, resolveModelFile } from '../container/model-files.js';
import { type RunningInstance, startInstance } from './instance.js';
import { ContainerStartError, type ContainerPoolApi, type Fleet, type VariantLaunch } from './types.js';

interface VariantState {
  variantName: string;
  weight: number;
  instances: RunningInstance[];
  /** Round-robin position within the variant. */
  next: number;
}

class LocalFleet implements Fleet {
  private stopping: Promise<void> | undefined;

  constructor(
    readonly id: string,
    readonly endpointName: string,
    readonly states: VariantState[],
    private readonly onStopped: (fleet: LocalFleet) => void,
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

  stop(): Promise<void> {
    this.stopping ??= Promise.all(this.states.flatMap((v) => v.instances.map((i) => i.process.stop()))).then(() =>
      this.onStopped(this),
    );
    return this.stopping;
  }

  pick(targetVariant?: string): { variantName: string; url: string } | undefined {
    const serving = this.states.filter((v) => v.instances.some((i) => i.alive));
    const variant = targetVariant ? serving.find((v) => v.variantName === targetVariant) : weightedChoice(serving);
    if (!variant) return undefined;
    const n = variant.instances.length;
    for (let k = 0; k < n; k++) {
      const index = (variant.next + k) % n;
      const instance = variant.instances[index];
      if (!instance.alive) continue;
      variant.next = index + 1;
      return { variantName: variant.variantName, url: instance.url };
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
  logger?: Logger;
}

export class ContainerPool implements ContainerPoolApi {
  private readonly active = new Map<string, LocalFleet>();
  private readonly fleets = new Set<LocalFleet>();
  private readonly logger: Logger;
  private launched = 0;

  constructor(private readonly opts: ContainerPoolOptions) {
    this.logger = opts.logger ?? pino({ name: 'container-pool', level: process.env.LOG_LEVEL ?? 'info' });
  }

  /** Every reason a variant cannot start that is knowable without starting it, checked before any spawn. */
  private plan(launch: VariantLaunch): VariantPlan {
    const { variantName, image, environment } = launch;
    const family = imageFamilyOf(image);
    if (!family) {
      throw new ContainerStartError(
        `Production variant ${variantName}: the image '${image}' is not one the local cloud can run. ${describeSupportedImages()}`,
      );
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
    return {
      launch,
      env: {
        [THREADS_ENV]: String(this.opts.threads ?? 1),
        ...environment,
        [MODELS_DIRS_ENV]: this.opts.modelsDirs.join(delimiter),
        [FAMILY_ENV]: family.name,
      },
    };
  }

  async launch(endpointName: string, variants: VariantLaunch[]): Promise<Fleet> {
    const plans = variants.map((v) => this.plan(v));
    const states: VariantState[] = plans.map(({ launch }) => ({
      variantName: launch.variantName,
      weight: launch.weight,
      instances: [],
      next: 0,
    }));
    const fleet = new LocalFleet(`${endpointName}-fleet-${++this.launched}`, endpointName, states, (f) => this.fleets.delete(f));
    this.fleets.add(fleet);
    const starts = plans.flatMap(({ launch, env }, v) =>
      Array.from({ length: launch.instanceCount }, () =>
        startInstance({
          endpointName,
          variantName: launch.variantName,
          env,
          logDir: this.opts.logDir,
          healthCheckTimeoutSeconds: launch.healthCheckTimeoutSeconds,
          logger: this.logger,
        }).then((instance) => {
          states[v].instances.push(instance);
        }),
      ),
    );
    const results = await Promise.allSettled(starts);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      await fleet.stop();
      throw failure.reason instanceof ContainerStartError ? failure.reason : new ContainerStartError(String(failure.reason));
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
    this.logger.info({ endpoint: endpointName, fleet: fleet.id, replaces: previous?.id }, 'fleet serving');
    if (previous && previous !== fleet) await previous.stop();
  }

  async deactivate(endpointName: string): Promise<void> {
    const fleet = this.active.get(endpointName);
    this.active.delete(endpointName);
    await fleet?.stop();
  }

  pick(endpointName: string, targetVariant?: string): { variantName: string; url: string } | undefined {
    return this.active.get(endpointName)?.pick(targetVariant);
  }

  async stopAll(): Promise<void> {
    this.active.clear();
    await Promise.all([...this.fleets].map((f) => f.stop()));
  }
}
