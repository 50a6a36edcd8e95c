// The contract between the SageMaker control plane emulator (local/sagemaker) and the
// model processes that stand in for inference containers (local/instances, local/runtime).
// The control plane decides *when* fleets start, serve and stop; the pool decides *how*.

/** One production variant's worth of model processes to start. */
export interface VariantLaunch {
  variantName: string;
  /** The model's PrimaryContainer.Image: picks the image family (TGI, LMI) to stand in for. */
  image: string;
  /** The model's PrimaryContainer.Environment (HF_MODEL_ID, MAX_INPUT_LENGTH, ...). */
  environment: Record<string, string>;
  /** The variant's InstanceType, counted against the instance quotas (absent for serverless variants). */
  instanceType?: string;
  /** One process per instance, so load balancing and scaling are real. */
  instanceCount: number;
  /** ContainerStartupHealthCheckTimeoutInSeconds: /ping must answer 200 within it. */
  healthCheckTimeoutSeconds: number;
  /** Relative weight for routing traffic between variants (InitialVariantWeight). */
  weight: number;
}

/** A started, healthy set of processes for one endpoint; not serving until activated. */
export interface Fleet {
  readonly id: string;
  /** What the fleet serves, as the launch named it (the endpoint config's name); reported by pick(). */
  readonly label?: string;
  readonly variants: ReadonlyArray<{ variantName: string; instances: ReadonlyArray<{ url: string; pid: number }> }>;
  /** Stops every process of the fleet and resolves once they have all exited; calling it again waits for the same stop. */
  stop(): Promise<void>;
}

export interface LaunchOptions {
  /**
   * Cancels the launch: every process it started is stopped, and launch() rejects with a
   * LaunchAbortedError once they have exited (DeleteEndpoint on a Creating endpoint, shutdown).
   */
  signal?: AbortSignal;
  /** Names what the fleet serves (the endpoint config), so a request can be traced to its fleet. */
  label?: string;
}

/** The instance one request goes to, and the fleet it belongs to (its label). */
export interface PickedInstance {
  variantName: string;
  url: string;
  fleet?: string;
}

/**
 * Thrown by launch() when a fleet cannot become healthy. `reason` is written verbatim into the
 * endpoint's FailureReason, so it reads like AWS's (e.g. "The primary container for production
 * variant AllTraffic did not pass the ping health check...").
 */
export class ContainerStartError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ContainerStartError';
  }
}

/**
 * The FailureReason of a failed launch: a ContainerStartError's reason (put in the caller's words
 * by `reword`: it speaks of production variants), or what else went wrong. ContainerStartError is
 * matched by name rather than instanceof: the pool may be a separately loaded copy.
 */
export function launchFailureReason(err: unknown, reword: (reason: string) => string = (reason) => reason): string {
  const e = err as { name?: string; reason?: unknown; message?: string };
  if (e?.name === 'ContainerStartError' && typeof e.reason === 'string') return reword(e.reason);
  return `The model processes could not be started: ${e?.message ?? String(err)}`;
}

/**
 * Thrown by launch() when it was cancelled (its signal aborted, or the pool stopped) before the
 * fleet became healthy. Not a ContainerStartError: nothing failed, so it is no FailureReason.
 * Named 'AbortError', as DOM and Node APIs name a cancelled operation; `cause` is the signal's reason.
 */
export class LaunchAbortedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

export interface ContainerPoolApi {
  /**
   * Starts every instance of every variant and waits for /ping; stops them all on failure
   * (ContainerStartError) or when cancelled through `opts.signal` or stopAll() (LaunchAbortedError).
   */
  launch(endpointName: string, variants: VariantLaunch[], opts?: LaunchOptions): Promise<Fleet>;
  /** Makes `fleet` serve the endpoint's traffic and stops the fleet it replaces (blue/green). */
  activate(endpointName: string, fleet: Fleet): Promise<void>;
  /**
   * Blue/green traffic shifting: from now on each request goes to `fleet` with probability
   * `share` (0..1), else to the active fleet; `undefined` sends everything back to the active
   * fleet. Stops nothing: activate() makes the shifted fleet the only one, or the caller stops it.
   */
  shift(endpointName: string, fleet: Fleet | undefined, share: number): void;
  /** Stops serving and stops the endpoint's active fleet, and any fleet traffic is shifted to (DeleteEndpoint). */
  deactivate(endpointName: string): Promise<void>;
  /** Chooses an instance for one request: by the shifted share across fleets, weighted across variants, round-robin within one. */
  pick(endpointName: string, targetVariant?: string): PickedInstance | undefined;
  /** Stops everything, including launches in flight, which reject (local cloud shutdown). */
  stopAll(): Promise<void>;
}
