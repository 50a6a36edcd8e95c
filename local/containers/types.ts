// The contract between the SageMaker control plane emulator (local/sagemaker) and the
// model processes that stand in for inference containers (local/containers, local/runtime).
// The control plane decides *when* fleets start, serve and stop; the pool decides *how*.

/** One production variant's worth of model processes to start. */
export interface VariantLaunch {
  variantName: string;
  /** The model's PrimaryContainer.Image: picks the image family (TGI, LMI) to stand in for. */
  image: string;
  /** The model's PrimaryContainer.Environment (HF_MODEL_ID, MAX_INPUT_LENGTH, ...). */
  environment: Record<string, string>;
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
  readonly variants: ReadonlyArray<{ variantName: string; instances: ReadonlyArray<{ url: string; pid: number }> }>;
  stop(): Promise<void>;
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

export interface ContainerPoolApi {
  /** Starts every instance of every variant and waits for /ping; stops them all on failure. */
  launch(endpointName: string, variants: VariantLaunch[]): Promise<Fleet>;
  /** Makes `fleet` serve the endpoint's traffic and stops the fleet it replaces (blue/green). */
  activate(endpointName: string, fleet: Fleet): Promise<void>;
  /** Stops serving and stops the endpoint's active fleet (DeleteEndpoint). */
  deactivate(endpointName: string): Promise<void>;
  /** Chooses an instance for one request: weighted across variants, round-robin within one. */
  pick(endpointName: string, targetVariant?: string): { variantName: string; url: string } | undefined;
  /** Stops everything (local cloud shutdown). */
  stopAll(): Promise<void>;
}
