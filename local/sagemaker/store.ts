// SageMaker control-plane state: models, endpoint configs, endpoints, inference components, transform jobs and tags, persisted as one
// JSON file under the local cloud's state dir so that a restart keeps every resource.
//
// Names are one namespace per account, shared by all regions: the model processes behind an
// endpoint are keyed by endpoint name alone (the runtime's contract), so two regions cannot
// both own "my-endpoint". Each resource keeps the region it was created in, in its ARN.
// Names are unique case-insensitively, as on AWS (ARNs carry the lowercased name).
//
// What a restart does to endpoints is decided in endpoint-lifecycle.ts (`recover`): their model
// processes died with the previous local cloud, so InService endpoints relaunch their fleets.
// Transform jobs that were running start over (transform-runner.ts, `recover`).
//
// Container environments may hold secrets (HF_TOKEN), so every `Environment`/`environment`
// member is written sealed (state-cipher.ts) and the file is 0600.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type {
  AsyncInferenceConfig,
  BatchDataCaptureConfig,
  BatchStrategy,
  ContainerDefinition,
  DataCaptureConfig,
  DataProcessing,
  DeploymentConfig,
  EndpointStatus,
  ExperimentConfig,
  InferenceComponentDeploymentConfig,
  InferenceComponentSpecification,
  InferenceComponentStatus,
  InferenceExecutionConfig,
  ModelClientConfig,
  ProductionVariant,
  ProductionVariantManagedInstanceScaling,
  ProductionVariantRoutingConfig,
  Tag,
  TransformInput,
  TransformJobStatus,
  TransformOutput,
  TransformResources,
  VpcConfig,
} from '@aws-sdk/client-sagemaker';
import type { VariantLaunch } from '../instances/types.js';
import type { RolloutPlan } from './deployment-config.js';
import { makePrivateDir, PRIVATE_FILE_MODE, StateCipher } from '../state-cipher.js';

/** moto's default account, so ARNs from IAM/STS (moto) and SageMaker (ours) agree. */
export const ACCOUNT_ID = '123456789012';

export type ResourceType = 'model' | 'endpoint-config' | 'endpoint' | 'inference-component' | 'transform-job';

export function sageMakerArn(region: string, type: ResourceType, name: string): string {
  return `arn:aws:sagemaker:${region}:${ACCOUNT_ID}:${type}/${name.toLowerCase()}`;
}

/** Times are epoch milliseconds in the store; handlers turn them into Dates for the wire. */
export interface ModelRecord {
  ModelName: string;
  ModelArn: string;
  CreationTime: number;
  PrimaryContainer?: ContainerDefinition;
  Containers?: ContainerDefinition[];
  InferenceExecutionConfig?: InferenceExecutionConfig;
  ExecutionRoleArn?: string;
  VpcConfig?: VpcConfig;
  EnableNetworkIsolation?: boolean;
}

export interface EndpointConfigRecord {
  EndpointConfigName: string;
  EndpointConfigArn: string;
  CreationTime: number;
  ProductionVariants: ProductionVariant[];
  DataCaptureConfig?: DataCaptureConfig;
  KmsKeyId?: string;
  AsyncInferenceConfig?: AsyncInferenceConfig;
  ExecutionRoleArn?: string;
  VpcConfig?: VpcConfig;
  EnableNetworkIsolation?: boolean;
}

/**
 * What an endpoint config resolves to at CreateEndpoint/UpdateEndpoint time. Kept on the
 * endpoint because AWS lets you delete the config and models of a live endpoint; a relaunch
 * after restart must not depend on them still existing.
 */
export interface FleetSpec {
  EndpointConfigName: string;
  variants: VariantLaunch[];
  /**
   * Variants without a model: instances that inference components place their copies on.
   * Absent in state written before inference components existed, and for model-based endpoints.
   */
  capacity?: CapacityVariant[];
}

/** A production variant of an inference-component endpoint, as its config defined it. */
export interface CapacityVariant {
  variantName: string;
  instanceType: string;
  initialInstanceCount: number;
  ManagedInstanceScaling?: ProductionVariantManagedInstanceScaling;
  RoutingConfig?: ProductionVariantRoutingConfig;
}

/** True for an endpoint whose (serving or pending) config has variants without a model. */
export function isInferenceComponentEndpoint(endpoint: EndpointRecord): boolean {
  return Boolean((endpoint.deployed ?? endpoint.pending)?.capacity?.length);
}

export interface DeployedFleet extends FleetSpec {
  /** Instances actually started per variant (CurrentInstanceCount). */
  instanceCounts: Record<string, number>;
  deployedAt: number;
}

/** The fleet a launch made serving: the spec it launched, with the instances it started. */
export function deployedFleet(spec: FleetSpec, instanceCounts: Record<string, number>): DeployedFleet {
  return { EndpointConfigName: spec.EndpointConfigName, variants: spec.variants, capacity: spec.capacity, instanceCounts, deployedAt: Date.now() };
}

export interface EndpointRecord {
  EndpointName: string;
  EndpointArn: string;
  /** The config serving (or, while Creating, being created); changes when an update succeeds. */
  EndpointConfigName: string;
  EndpointStatus: EndpointStatus;
  FailureReason?: string;
  CreationTime: number;
  LastModifiedTime: number;
  DeploymentConfig?: DeploymentConfig;
  AsyncInferenceConfig?: AsyncInferenceConfig;
  /** The fleet serving traffic, absent until the first launch succeeds. */
  deployed?: DeployedFleet;
  /** The fleet being launched, and why: CreateEndpoint, UpdateEndpoint, or a relaunch after restart. */
  pending?: FleetSpec & {
    kind: 'create' | 'update' | 'relaunch';
    startedAt: number;
    /** UpdateEndpoint of a model-based endpoint: the rollout its DeploymentConfig asks for (endpoint-rollout.ts). */
    plan?: RolloutPlan;
    /** How far that rollout is, for DescribeEndpoint's PendingDeploymentSummary. */
    progress?: RolloutProgress;
  };
}

/** A rollout's stage, as DescribeEndpoint's PendingDeploymentSummary reports it. */
export interface RolloutProgress {
  /** The new fleet's VariantStatus. */
  status: 'Creating' | 'ActivatingTraffic' | 'Baking' | 'Updating' | 'Deleting';
  statusMessage: string;
  since: number;
  /** Share (0..1) of the endpoint's requests routed to the new fleet. */
  share: number;
  /** The new fleet's running instances per variant, once it is up. */
  instanceCounts?: Record<string, number>;
}

/**
 * A transform job as CreateTransformJob described it (echoed by DescribeTransformJob), its
 * progress, and the container it runs, resolved from the model at create time (like an
 * endpoint's fleet spec: deleting the model afterwards does not affect the job).
 */
export interface TransformJobRecord {
  TransformJobName: string;
  TransformJobArn: string;
  TransformJobStatus: TransformJobStatus;
  FailureReason?: string;
  ModelName: string;
  MaxConcurrentTransforms: number;
  MaxPayloadInMB: number;
  BatchStrategy: BatchStrategy;
  ModelClientConfig?: ModelClientConfig;
  Environment?: Record<string, string>;
  TransformInput: TransformInput;
  TransformOutput: TransformOutput;
  TransformResources: TransformResources;
  DataCaptureConfig?: BatchDataCaptureConfig;
  DataProcessing?: DataProcessing;
  ExperimentConfig?: ExperimentConfig;
  CreationTime: number;
  TransformStartTime?: number;
  TransformEndTime?: number;
  LastModifiedTime: number;
  /** The model's serving container (image, and its environment merged with the job's). */
  container: { image: string; environment: Record<string, string> };
}

/**
 * An inference component as Create/UpdateInferenceComponent described it. Its copies (model
 * processes) are not state: they are relaunched after a restart (inference-component-lifecycle.ts).
 */
export interface InferenceComponentRecord {
  InferenceComponentName: string;
  InferenceComponentArn: string;
  EndpointName: string;
  EndpointArn: string;
  VariantName: string;
  InferenceComponentStatus: InferenceComponentStatus;
  FailureReason?: string;
  CreationTime: number;
  LastModifiedTime: number;
  Specification: InferenceComponentSpecification;
  DesiredCopyCount: number;
  LastDeploymentConfig?: InferenceComponentDeploymentConfig;
  /** The model's serving container, resolved when the spec was set (deleting the model later changes nothing). */
  container: { image: string; environment: Record<string, string> };
}

/** One resource type's records, keyed case-insensitively by name. */
export class ResourceTable<T> {
  private readonly rows = new Map<string, T>();
  constructor(private readonly nameOf: (row: T) => string) {}
  get(name: string): T | undefined {
    return this.rows.get(name.toLowerCase());
  }
  put(row: T): void {
    this.rows.set(this.nameOf(row).toLowerCase(), row);
  }
  delete(name: string): boolean {
    return this.rows.delete(name.toLowerCase());
  }
  values(): T[] {
    return [...this.rows.values()];
  }
}

/** The members of state records that hold a container environment. */
const ENVIRONMENT_MEMBER = new Set(['Environment', 'environment']);
const SEALED_MEMBER = '__sealed';

interface PersistedState {
  version: 1;
  models: ModelRecord[];
  endpointConfigs: EndpointConfigRecord[];
  endpoints: EndpointRecord[];
  /** Absent in state files written before transform jobs existed. */
  transformJobs?: TransformJobRecord[];
  /** Absent in state files written before inference components existed. */
  inferenceComponents?: InferenceComponentRecord[];
  tags: Record<string, Tag[]>;
}

export class SageMakerStore {
  readonly models = new ResourceTable<ModelRecord>((r) => r.ModelName);
  readonly endpointConfigs = new ResourceTable<EndpointConfigRecord>((r) => r.EndpointConfigName);
  readonly endpoints = new ResourceTable<EndpointRecord>((r) => r.EndpointName);
  readonly transformJobs = new ResourceTable<TransformJobRecord>((r) => r.TransformJobName);
  readonly inferenceComponents = new ResourceTable<InferenceComponentRecord>((r) => r.InferenceComponentName);
  /** Tags by resource ARN. */
  readonly tags = new Map<string, Tag[]>();

  private closed = false;

  /** `file` undefined keeps state in memory only. */
  private constructor(
    private readonly file: string | undefined,
    private readonly cipher: StateCipher,
  ) {}

  /** `cipher` defaults to the key of the state file's directory. */
  static open(file: string | undefined, cipher?: StateCipher): SageMakerStore {
    const store = new SageMakerStore(file, cipher ?? (file ? StateCipher.forStateDir(dirname(file)) : StateCipher.ephemeral()));
    if (!file) return store;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return store;
      throw err;
    }
    // Environments written in clear by an older local cloud are read as they are and sealed at the next save.
    const state = JSON.parse(text, (_key, value: unknown) =>
      value !== null && typeof value === 'object' && SEALED_MEMBER in value ? store.cipher.openJson((value as Record<string, string>)[SEALED_MEMBER]) : value,
    ) as PersistedState;
    if (state.version !== 1) throw new Error(`${file}: unsupported state version ${String(state.version)}`);
    state.models.forEach((r) => store.models.put(r));
    state.endpointConfigs.forEach((r) => store.endpointConfigs.put(r));
    state.endpoints.forEach((r) => store.endpoints.put(r));
    state.transformJobs?.forEach((r) => store.transformJobs.put(r));
    state.inferenceComponents?.forEach((r) => store.inferenceComponents.put(r));
    for (const [arn, tags] of Object.entries(state.tags)) store.tags.set(arn, tags);
    return store;
  }

  /** Forgets a deleted resource and its tags (AWS drops the tags with the resource), and saves. */
  remove<T>(table: ResourceTable<T>, name: string, arn: string): void {
    table.delete(name);
    this.tags.delete(arn);
    this.save();
  }

  /**
   * Writes the whole state after every mutation. The file is small (tens of resources), and a
   * write-then-rename means a crash leaves either the old or the new state, never half of one.
   */
  save(): void {
    if (!this.file || this.closed) return;
    const state: PersistedState = {
      version: 1,
      models: this.models.values(),
      endpointConfigs: this.endpointConfigs.values(),
      endpoints: this.endpoints.values(),
      transformJobs: this.transformJobs.values(),
      inferenceComponents: this.inferenceComponents.values(),
      tags: Object.fromEntries(this.tags),
    };
    makePrivateDir(dirname(this.file));
    const tmp = `${this.file}.${process.pid}.tmp`;
    const sealEnvironments = (key: string, value: unknown) =>
      ENVIRONMENT_MEMBER.has(key) && value !== null && typeof value === 'object' ? { [SEALED_MEMBER]: this.cipher.sealJson(value) } : value;
    writeFileSync(tmp, JSON.stringify(state, sealEnvironments, 2), { mode: PRIVATE_FILE_MODE });
    renameSync(tmp, this.file);
  }

  /**
   * Final write. Work that outlives the local cloud's shutdown (a launch that ignored the abort)
   * must not overwrite the file a restarted local cloud now owns.
   */
  close(): void {
    this.save();
    this.closed = true;
  }
}
