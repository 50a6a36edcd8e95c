// An in-memory stand-in for the activities, for workflow unit tests only: it keeps enough
// state (models, configs, endpoints, scaling targets, jobs) to check sequencing, idempotent
// re-runs, compensation and teardown without any AWS or local cloud. It refuses what AWS
// refuses, the way the real activities report it: an endpoint that is Creating or Updating
// cannot be deleted or updated yet ("not yet", retryable), an endpoint moves through Creating
// and Updating (the config it is on stays the old one until an update finishes, the new one is
// pending), an update can fail and be rolled back by AWS or end UpdateRollbackFailed. Time is
// counted in calls: each call that looks at a busy endpoint moves it one step on. Inference
// components behave the same way: Creating/Updating/Deleting settle after some looks, a busy
// one cannot be updated or deleted yet, a create can end Failed with a reason, a rolling update
// can be rolled back by SageMaker (InService on the old spec), and an endpoint that still hosts
// a component cannot be deleted. An update with a DeploymentConfig (issue 14) walks the stages
// SageMaker shows in PendingDeploymentSummary (new fleet Creating, then ActivatingTraffic and
// Baking per canary/linear step, old fleet Deleting), one stage per look; a rollback alarm can go
// to ALARM at a chosen stage (RollingBack, then InService on the old config with a FailureReason),
// and a stage can stall, as a rollout past its deadline does.
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities/index.js';
import type { InferenceComponentState } from '../../activities/inference-components.js';
import type { DeploymentConfig } from '@aws-sdk/client-sagemaker';
import type { RolloutState } from '../../activities/rollout.js';
import { noCapacityAlarmName, wakePolicyName } from '../../activities/autoscaling.js';
import type { DeleteOutcome, EndpointState } from '../../activities/sagemaker.js';
import { sameComponentSpec, type ComponentSpecShape } from '../../common/inference-component-spec.js';

interface FakeComponent {
  endpointName: string;
  spec: ComponentSpecShape;
  desiredCopies: number;
  currentCopies: number;
  status: string;
  failureReason?: string;
  runTag: string;
  pollsLeft: number;
  /** While Updating: what a rollback returns to. */
  previous?: { spec: ComponentSpecShape; copies: number };
}

interface FakeEndpoint {
  configName: string;
  /** The config an update is rolling out. */
  pendingConfigName?: string;
  status: string;
  failureReason?: string;
  /** The created-by-run tag; undefined: made outside this project. */
  runTag?: string;
  /** Steps left before Creating/Updating settles. */
  pollsLeft: number;
  /** An update with a DeploymentConfig: the stages still to show, the current one first. */
  rollout?: { stages: RolloutStage[]; alarmNames: string[]; rollingBack?: boolean };
}

interface RolloutStage {
  stage: string;
  percent?: number;
  /** Looks this stage lasts (a stalled one, longer). */
  looks: number;
}

/** The stages SageMaker walks for a DeploymentConfig: new fleet, each traffic step with its bake, old fleet gone. */
function rolloutStages(config: DeploymentConfig, stallLooks: number): RolloutStage[] {
  const routing = config.BlueGreenUpdatePolicy?.TrafficRoutingConfiguration;
  let shares = [100];
  if (routing?.Type === 'CANARY') shares = [routing.CanarySize?.Type === 'CAPACITY_PERCENT' ? routing.CanarySize.Value! : 50, 100];
  if (routing?.Type === 'LINEAR' || config.RollingUpdatePolicy) {
    const size = routing?.LinearStepSize ?? config.RollingUpdatePolicy!.MaximumBatchSize!;
    const step = size.Type === 'CAPACITY_PERCENT' ? size.Value! : 50;
    shares = [];
    for (let p = step; p < 100; p += step) shares.push(p);
    shares.push(100);
  }
  const stages: RolloutStage[] = [{ stage: 'Creating', looks: 1 }];
  for (const percent of shares) stages.push({ stage: 'ActivatingTraffic', percent, looks: 1 }, { stage: 'Baking', percent, looks: 1 });
  stages.push({ stage: 'Deleting', percent: 100, looks: 1 });
  stages[stages.length - 2]!.looks += stallLooks;
  return stages;
}

export interface FakeBehaviour {
  /** How many looks at a Creating/Updating endpoint before it settles. */
  pollsBeforeReady?: number;
  /** If set, a created endpoint ends Failed with this reason instead of InService. */
  failWith?: string;
  /** If set, an update fails with this reason and AWS rolls it back (InService on the old config). */
  failUpdateWith?: string;
  /** With failUpdateWith: AWS's rollback fails too, leaving UpdateRollbackFailed. */
  updateRollbackFails?: boolean;
  /** If set, the smoke test invocation fails with this message. */
  smokeTestError?: string;
  /** Called when the smoke test runs (to change the world under the deploy). */
  onSmokeTest?: () => void;
  /**
   * The first update call gets through to AWS and the update even finishes, but its answer is
   * lost (a worker crash, a dropped connection): the attempt fails and is retried.
   */
  loseFirstUpdateAnswer?: boolean;
  /** Real milliseconds createEndpoint / createTransformJob take to answer after AWS has acted. */
  createDelayMs?: number;
  /** How many awaitTransformJob polls see InProgress before the job ends. */
  jobPolls?: number;
  /** How the transform job ends (default Completed). */
  jobEnd?: { status: 'Completed' } | { status: 'Failed'; reason: string };
  /** Components whose creation ends Failed, with AWS's FailureReason. */
  componentFailWith?: Record<string, string>;
  /** If set, a component's rolling update fails with this reason and SageMaker rolls it back. */
  componentUpdateRollbackWith?: string;
  /** A rollout's alarm goes to ALARM on reaching this stage (e.g. "Baking"); SageMaker rolls back. */
  rolloutAlarmAt?: string;
  /** With rolloutAlarmAt: the FailureReason SageMaker gives (default: the alarm's). */
  rolloutFailureReason?: string;
  /** The last bake of a rollout lasts this many extra looks (a rollout past its deadline). */
  rolloutStallLooks?: number;
  /**
   * Awaited before each look at a rollout: by then the workflow has taken in the previous look's
   * answer, so a test can read the `progress` query at every stage without racing the polls.
   */
  beforeRolloutLook?: () => Promise<void>;
  /** Records under each S3 prefix, for countS3Records and countTransformOutputs. */
  s3Records?: Record<string, number>;
}

interface FakeJob {
  status: string;
  pollsLeft: number;
  runTag: string;
  modelName: string;
}

const BUSY = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack']);
const notYet = (message: string, type: string) => ApplicationFailure.create({ message, type, category: 'BENIGN' });

export function createFakeCloud(behaviour: FakeBehaviour = {}) {
  const models = new Map<string, { runTag: string; image: string }>();
  const configs = new Map<string, { runTag: string; modelName?: string }>();
  const components = new Map<string, FakeComponent>();
  const endpoints = new Map<string, FakeEndpoint>();
  const targets = new Set<string>();
  /** Each component target's MinCapacity. */
  const minCapacity = new Map<string, number>();
  /** Scaling policy names per scalable target. */
  const policies = new Map<string, string[]>();
  const jobs = new Map<string, FakeJob>();
  /** CloudWatch alarms by name, with their state (rollout alarms, wake-from-zero alarms). */
  const alarms = new Map<string, string>();
  /** Workflow ids the fake Temporal reports as running (runningWorkflow). */
  const running = new Set<string>();
  const calls: string[] = [];
  let polls = 0;
  /** The DeploymentConfig of each endpoint's latest update. */
  const lastDeploymentConfig = new Map<string, DeploymentConfig>();
  const ready = behaviour.pollsBeforeReady ?? 0;

  /** One step of time for a busy endpoint. */
  function advance(ep: FakeEndpoint): void {
    if (!BUSY.has(ep.status)) return;
    if (ep.rollout) return advanceRollout(ep, ep.rollout);
    if (ep.pollsLeft-- > 0) return;
    if (ep.status === 'Creating') {
      if (behaviour.failWith) Object.assign(ep, { status: 'Failed', failureReason: behaviour.failWith });
      else ep.status = 'InService';
    } else if (ep.status === 'Updating' && behaviour.failUpdateWith) {
      ep.failureReason = behaviour.failUpdateWith;
      ep.status = behaviour.updateRollbackFails ? 'UpdateRollbackFailed' : 'InService';
      if (!behaviour.updateRollbackFails) ep.pendingConfigName = undefined;
    } else {
      Object.assign(ep, { status: 'InService', configName: ep.pendingConfigName ?? ep.configName, pendingConfigName: undefined });
    }
  }
  /** One step of a rollout: the next stage, an alarm and SageMaker's rollback, or the end. */
  function advanceRollout(ep: FakeEndpoint, rollout: NonNullable<FakeEndpoint['rollout']>): void {
    if (rollout.rollingBack) {
      const alarm = rollout.alarmNames[0] ?? 'a rollback alarm';
      const reason = behaviour.rolloutFailureReason ?? `Deployment was rolled back because the alarm ${alarm} was in ALARM state.`;
      Object.assign(ep, { status: 'InService', pendingConfigName: undefined, failureReason: reason, rollout: undefined });
      return;
    }
    const current = rollout.stages[0]!;
    if (--current.looks > 0) return;
    rollout.stages.shift();
    const next = rollout.stages[0];
    if (!next) {
      Object.assign(ep, { status: 'InService', configName: ep.pendingConfigName, pendingConfigName: undefined, rollout: undefined });
      return;
    }
    if (behaviour.rolloutAlarmAt === next.stage) {
      for (const name of rollout.alarmNames) alarms.set(name, 'ALARM');
      if (!rollout.alarmNames.length && !behaviour.rolloutFailureReason) return;
      Object.assign(ep, { status: 'RollingBack' });
      rollout.rollingBack = true;
    }
  }
  /** What awaitRolloutChange reports of a rollout. */
  function rolloutState(ep: FakeEndpoint, alarmNames: string[], done: boolean): Omit<RolloutState, 'key'> {
    const stage = done ? { stage: 'InService' } : { stage: ep.rollout?.stages[0]?.stage ?? ep.status, newFleetTrafficPercent: ep.rollout?.stages[0]?.percent };
    return { status: ep.status, ...stage, alarms: Object.fromEntries(alarmNames.map((n) => [n, alarms.get(n) ?? 'MISSING'])), done };
  }
  /** One step of time for a busy component. */
  function advanceComponent(name: string, ic: FakeComponent): void {
    if (!BUSY.has(ic.status) && ic.status !== 'Deleting') return;
    if (ic.pollsLeft-- > 0) return;
    if (ic.status === 'Deleting') components.delete(name);
    else if (ic.status === 'Creating' && behaviour.componentFailWith?.[name])
      Object.assign(ic, { status: 'Failed', failureReason: behaviour.componentFailWith[name], currentCopies: 0 });
    else if (ic.status === 'Updating' && ic.previous && behaviour.componentUpdateRollbackWith) {
      Object.assign(ic, {
        status: 'InService',
        spec: ic.previous.spec,
        desiredCopies: ic.previous.copies,
        currentCopies: ic.previous.copies,
        failureReason: behaviour.componentUpdateRollbackWith,
        previous: undefined,
      });
    } else Object.assign(ic, { status: 'InService', currentCopies: ic.desiredCopies, previous: undefined });
  }
  const componentState = (name: string): InferenceComponentState => {
    const ic = components.get(name);
    if (!ic) return { status: 'NotFound' };
    return {
      status: ic.status,
      arn: `arn:inference-component/${name}`,
      endpointName: ic.endpointName,
      spec: ic.spec,
      desiredCopies: ic.desiredCopies,
      currentCopies: ic.currentCopies,
      failureReason: ic.failureReason,
      createdBy: ic.runTag,
    };
  };
  let updateAnswersLost = 0;
  /** Applies loseFirstUpdateAnswer: the update completes, then the attempt fails. */
  function maybeLoseAnswer(ep: FakeEndpoint): void {
    if (!behaviour.loseFirstUpdateAnswer || updateAnswersLost++ > 0) return;
    ep.pollsLeft = 0;
    advance(ep);
    throw ApplicationFailure.retryable('socket hang up', 'Error');
  }
  const delay = () => new Promise((r) => setTimeout(r, behaviour.createDelayMs ?? 0));
  const uses = (endpointName: string | undefined) => {
    const ep = endpointName ? endpoints.get(endpointName) : undefined;
    const used = [ep?.configName, ep?.pendingConfigName].filter((c): c is string => !!c);
    return { configs: new Set(used), models: new Set(used.map((c) => configs.get(c)?.modelName)) };
  };
  /** An undo's guard, as the real activities apply it. */
  const keptBecause = (owner: string | undefined, ownedBy: string | undefined, inUse: boolean): string | undefined => {
    if (ownedBy === undefined) return undefined;
    if (owner !== ownedBy) return `created by ${owner ?? 'someone outside this project'}`;
    return inUse ? 'in use' : undefined;
  };

  const activities = {
    async ensureExecutionRole({ roleName }) {
      calls.push('ensureExecutionRole');
      return { roleArn: `arn:aws:iam::123456789012:role/${roleName}`, created: false };
    },
    async createModel({ modelName, image, tags }) {
      calls.push(`createModel ${modelName}`);
      const existing = models.get(modelName);
      if (!existing) models.set(modelName, { runTag: tags.runTag, image });
      return { modelArn: `arn:model/${modelName}`, created: (existing ?? models.get(modelName))!.runTag === tags.runTag };
    },
    async createEndpointConfig({ configName, modelName, tags }) {
      calls.push(`createEndpointConfig ${configName}`);
      const existing = configs.get(configName);
      if (!existing) configs.set(configName, { runTag: tags.runTag, modelName });
      return { configArn: `arn:endpoint-config/${configName}`, created: configs.get(configName)!.runTag === tags.runTag };
    },
    /** Pre-v2 deploys' single create-or-update call. */
    async createOrUpdateEndpoint({ endpointName, configName, tags }) {
      calls.push(`createOrUpdateEndpoint ${endpointName}`);
      const ep = endpoints.get(endpointName);
      const arn = `arn:endpoint/${endpointName}`;
      if (!ep) {
        endpoints.set(endpointName, { configName, status: 'Creating', runTag: tags.runTag, pollsLeft: ready });
        await delay();
        return { endpointArn: arn, action: 'created' };
      }
      if (ep.configName === configName) return { endpointArn: arn, action: ep.runTag === tags.runTag ? 'created' : 'unchanged' };
      if (BUSY.has(ep.status)) throw notYet(`Endpoint ${endpointName} is ${ep.status}`, 'EndpointBusy');
      const previousConfigName = ep.configName;
      Object.assign(ep, { pendingConfigName: configName, status: 'Updating', pollsLeft: ready });
      maybeLoseAnswer(ep);
      return { endpointArn: arn, action: 'updated', previousConfigName };
    },
    async describeEndpointStatus({ endpointName }): Promise<EndpointState> {
      calls.push(`describeEndpointStatus ${endpointName}`);
      const ep = endpoints.get(endpointName);
      if (!ep) return { status: 'NotFound' };
      return {
        status: ep.status,
        endpointArn: `arn:endpoint/${endpointName}`,
        failureReason: ep.failureReason,
        configName: ep.configName,
        pendingConfigName: ep.pendingConfigName,
        createdBy: ep.runTag,
      };
    },
    async createEndpoint({ endpointName, configName, tags }) {
      calls.push(`createEndpoint ${endpointName}`);
      const ep = endpoints.get(endpointName);
      if (ep && ep.runTag !== tags.runTag)
        throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} was created meanwhile by ${ep.runTag}`, 'ResourceConflict');
      if (!ep) endpoints.set(endpointName, { configName, status: 'Creating', runTag: tags.runTag, pollsLeft: ready });
      await delay(); // AWS has it; the answer is slow
      return { endpointArn: `arn:endpoint/${endpointName}` };
    },
    async updateEndpoint({ endpointName, configName, ifExists, deploymentConfig }) {
      calls.push(`updateEndpoint ${endpointName} ${configName}`);
      const ep = endpoints.get(endpointName);
      if (!ep) {
        if (ifExists) return { updated: false };
        throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} does not exist`, 'EndpointNotFound');
      }
      advance(ep);
      if (ep.pendingConfigName === configName || (ep.configName === configName && !BUSY.has(ep.status))) return { updated: true };
      if (ep.status === 'Failed' || ep.status === 'UpdateRollbackFailed')
        throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} is ${ep.status}`, 'EndpointFailed');
      if (ep.status !== 'InService') throw notYet(`Endpoint ${endpointName} is ${ep.status}`, 'EndpointBusy');
      Object.assign(ep, { pendingConfigName: configName, status: 'Updating', pollsLeft: ready, failureReason: undefined });
      if (deploymentConfig) {
        const alarmNames = (deploymentConfig.AutoRollbackConfiguration?.Alarms ?? []).map((a) => a.AlarmName!);
        ep.rollout = { stages: rolloutStages(deploymentConfig, behaviour.rolloutStallLooks ?? 0), alarmNames };
        lastDeploymentConfig.set(endpointName, deploymentConfig);
      }
      maybeLoseAnswer(ep);
      return { updated: true };
    },
    async awaitEndpointInService({ endpointName, expectedConfigName }) {
      polls++;
      calls.push('awaitEndpointInService');
      const ep = endpoints.get(endpointName);
      if (!ep) throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} does not exist`, 'EndpointNotFound');
      advance(ep);
      if (ep.status === 'Failed') throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} failed: ${ep.failureReason}`, 'EndpointFailed');
      if (ep.status === 'UpdateRollbackFailed')
        throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} is UpdateRollbackFailed: ${ep.failureReason}`, 'EndpointUpdateRollbackFailed');
      if (BUSY.has(ep.status)) throw notYet(`Endpoint ${endpointName} is ${ep.status}`, 'EndpointNotReady');
      if (expectedConfigName && ep.configName !== expectedConfigName) {
        throw ApplicationFailure.nonRetryable(
          `Update of endpoint ${endpointName} to ${expectedConfigName} failed and was rolled back to ${ep.configName}: ${ep.failureReason}`,
          'EndpointUpdateFailed',
        );
      }
      return { status: 'InService', configName: ep.configName };
    },
    async createRolloutAlarms({ endpointName, configName }) {
      calls.push(`createRolloutAlarms ${configName}`);
      const names = [`llmops-rollout-${endpointName}-${configName}-Invocation5XXErrors`, `llmops-rollout-${endpointName}-${configName}-ModelLatency`];
      for (const name of names) if (!alarms.has(name)) alarms.set(name, 'INSUFFICIENT_DATA');
      return { alarmNames: names };
    },
    async deleteRolloutAlarms({ alarmNames }) {
      calls.push(`deleteRolloutAlarms ${alarmNames.join(',')}`);
      return { deleted: alarmNames.filter((n) => alarms.delete(n)) };
    },
    async awaitRolloutChange({ endpointName, expectedConfigName, alarmNames, seenKey }): Promise<RolloutState> {
      await behaviour.beforeRolloutLook?.();
      polls++;
      calls.push('awaitRolloutChange');
      const ep = endpoints.get(endpointName);
      if (!ep) throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} does not exist`, 'EndpointNotFound');
      advance(ep);
      const done = ep.status === 'InService' && ep.configName === expectedConfigName;
      if (ep.status !== 'Updating' && ep.status !== 'RollingBack' && !done) await activities.awaitEndpointInService({ endpointName, expectedConfigName });
      const state = rolloutState(ep, alarmNames, done);
      const key = JSON.stringify([state.status, state.stage, state.newFleetTrafficPercent, state.alarms]);
      if (!done && key === seenKey) throw notYet(`Rollout to ${endpointName}: ${state.status}, ${state.stage}`, 'RolloutNotDone');
      return { key, ...state };
    },
    async deleteEndpoint({ endpointName, ownedBy }): Promise<DeleteOutcome> {
      calls.push(`deleteEndpoint ${endpointName}`);
      const ep = endpoints.get(endpointName);
      if (!ep) return { deleted: false };
      const kept = keptBecause(ep.runTag, ownedBy, false);
      if (kept) return { deleted: false, kept };
      const hosted = [...components.values()].filter((c) => c.endpointName === endpointName);
      if (hosted.length)
        throw ApplicationFailure.nonRetryable(
          `Endpoint ${endpointName} still hosts ${hosted.length} inference component(s); delete them first`,
          'ValidationException',
        );
      advance(ep);
      // AWS: ValidationException "Cannot delete in-progress endpoint"; the activity polls on it.
      if (BUSY.has(ep.status)) throw notYet(`Endpoint ${endpointName} is ${ep.status}; AWS cannot delete it until that ends`, 'EndpointNotDeletable');
      ep.status = 'Deleting';
      return { deleted: true };
    },
    async awaitEndpointDeleted({ endpointName }) {
      calls.push('awaitEndpointDeleted');
      const ep = endpoints.get(endpointName);
      if (!ep) return;
      if (ep.status !== 'Deleting') {
        advance(ep);
        if (BUSY.has(ep.status)) throw notYet(`Endpoint ${endpointName} is ${ep.status}`, 'EndpointNotDeleted');
      }
      endpoints.delete(endpointName);
    },
    async deleteEndpointConfig({ configName, ownedBy, endpointName }): Promise<DeleteOutcome> {
      calls.push(`deleteEndpointConfig ${configName}`);
      const config = configs.get(configName);
      if (!config) return { deleted: false };
      const kept = keptBecause(config.runTag, ownedBy, uses(endpointName).configs.has(configName));
      if (kept) return { deleted: false, kept };
      return { deleted: configs.delete(configName) };
    },
    async deleteModel({ modelName, ownedBy, endpointName }): Promise<DeleteOutcome> {
      calls.push(`deleteModel ${modelName}`);
      const model = models.get(modelName);
      if (!model) return { deleted: false };
      const kept = keptBecause(model.runTag, ownedBy, uses(endpointName).models.has(modelName));
      if (kept) return { deleted: false, kept };
      return { deleted: models.delete(modelName) };
    },
    async findEndpointResources({ endpointName }) {
      calls.push('findEndpointResources');
      const ep = endpoints.get(endpointName);
      const mine = (name: string) => name.startsWith(`${endpointName}-`);
      return {
        endpoint: ep && {
          arn: `arn:endpoint/${endpointName}`,
          status: ep.status,
          configName: ep.configName,
          variantNames: ['AllTraffic'],
          createdBy: ep.runTag,
        },
        configNames: [...configs.keys()].filter(mine),
        modelNames: [...models.keys()].filter(mine),
      };
    },
    async describeInferenceComponentStatus({ componentName }) {
      calls.push(`describeInferenceComponentStatus ${componentName}`);
      return componentState(componentName);
    },
    async createInferenceComponent({ componentName, endpointName, spec, copyCount, tags }) {
      calls.push(`createInferenceComponent ${componentName}`);
      const ep = endpoints.get(endpointName);
      if (!ep || ep.status !== 'InService') throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} is not InService`, 'ValidationException');
      if (!models.has(spec.modelName)) throw ApplicationFailure.nonRetryable(`Could not find model ${spec.modelName}`, 'ValidationException');
      const existing = components.get(componentName);
      if (existing && (existing.endpointName !== endpointName || !sameComponentSpec(existing.spec, spec)))
        throw ApplicationFailure.nonRetryable(`Inference component ${componentName} already exists with a different spec`, 'ResourceConflict');
      if (!existing)
        components.set(componentName, {
          endpointName,
          spec,
          desiredCopies: copyCount,
          currentCopies: 0,
          status: 'Creating',
          runTag: tags.runTag,
          pollsLeft: ready,
        });
      return { arn: `arn:inference-component/${componentName}`, created: components.get(componentName)!.runTag === tags.runTag };
    },
    async updateInferenceComponent({ componentName, spec, copyCount, ifExists }) {
      calls.push(`updateInferenceComponent ${componentName}`);
      const ic = components.get(componentName);
      if (!ic) {
        if (ifExists) return { updated: false };
        throw ApplicationFailure.nonRetryable(`Inference component ${componentName} does not exist`, 'InferenceComponentNotFound');
      }
      advanceComponent(componentName, ic);
      if (sameComponentSpec(ic.spec, spec) && (copyCount === undefined || ic.desiredCopies === copyCount) && !BUSY.has(ic.status)) return { updated: true };
      if (BUSY.has(ic.status)) throw notYet(`Inference component ${componentName} is ${ic.status}`, 'InferenceComponentBusy');
      Object.assign(ic, {
        previous: { spec: ic.spec, copies: ic.desiredCopies },
        spec,
        desiredCopies: copyCount ?? ic.desiredCopies,
        status: 'Updating',
        pollsLeft: ready,
        failureReason: undefined,
      });
      return { updated: true };
    },
    async updateInferenceComponentCopyCount({ componentName, copyCount, ifExists }) {
      calls.push(`updateInferenceComponentCopyCount ${componentName} ${copyCount}`);
      const ic = components.get(componentName);
      if (!ic) {
        if (ifExists) return { updated: false };
        throw ApplicationFailure.nonRetryable(`Inference component ${componentName} does not exist`, 'InferenceComponentNotFound');
      }
      if (ic.desiredCopies === copyCount) return { updated: true };
      advanceComponent(componentName, ic);
      if (BUSY.has(ic.status)) throw notYet(`Inference component ${componentName} is ${ic.status}`, 'InferenceComponentBusy');
      Object.assign(ic, { desiredCopies: copyCount, status: 'Updating', pollsLeft: ready });
      return { updated: true };
    },
    async awaitInferenceComponentInService({ componentName, expected }) {
      polls++;
      calls.push(`awaitInferenceComponentInService ${componentName}`);
      const ic = components.get(componentName);
      if (!ic) throw ApplicationFailure.nonRetryable(`Inference component ${componentName} does not exist`, 'InferenceComponentNotFound');
      advanceComponent(componentName, ic);
      if (ic.status === 'Failed')
        throw ApplicationFailure.nonRetryable(`Inference component ${componentName} failed: ${ic.failureReason}`, 'InferenceComponentFailed');
      if (ic.status !== 'InService') throw notYet(`Inference component ${componentName} is ${ic.status}`, 'InferenceComponentNotReady');
      if (expected && !sameComponentSpec(ic.spec, expected)) {
        throw ApplicationFailure.nonRetryable(
          `Update of inference component ${componentName} was rolled back (still on model ${ic.spec.modelName}): ${ic.failureReason}`,
          'InferenceComponentUpdateFailed',
        );
      }
      return { status: ic.status, desiredCopies: ic.desiredCopies, currentCopies: ic.currentCopies };
    },
    async deleteInferenceComponent({ componentName, ownedBy }): Promise<DeleteOutcome> {
      calls.push(`deleteInferenceComponent ${componentName}`);
      const ic = components.get(componentName);
      if (!ic) return { deleted: false };
      const kept = keptBecause(ic.runTag, ownedBy, false);
      if (kept) return { deleted: false, kept };
      if (ic.status === 'Deleting') return { deleted: true };
      advanceComponent(componentName, ic);
      if (BUSY.has(ic.status)) throw notYet(`Inference component ${componentName} is ${ic.status}`, 'InferenceComponentNotDeletable');
      Object.assign(ic, { status: 'Deleting', pollsLeft: ready });
      return { deleted: true };
    },
    async awaitInferenceComponentDeleted({ componentName }) {
      calls.push(`awaitInferenceComponentDeleted ${componentName}`);
      const ic = components.get(componentName);
      if (!ic) return;
      if (ic.status !== 'Deleting') await activities.deleteInferenceComponent({ componentName });
      advanceComponent(componentName, ic);
      if (components.has(componentName)) throw notYet(`Inference component ${componentName} is ${ic.status}`, 'InferenceComponentNotDeleted');
    },
    async listInferenceComponents({ endpointName }) {
      calls.push(`listInferenceComponents ${endpointName}`);
      return [...components.entries()].filter(([, c]) => c.endpointName === endpointName).map(([name]) => name);
    },
    async registerComponentAutoscaling({ componentName, scaleToZero, minCopies }) {
      calls.push(`registerComponentAutoscaling ${componentName}`);
      const resourceId = `inference-component/${componentName}`;
      targets.add(resourceId);
      minCapacity.set(resourceId, minCopies);
      policies.set(resourceId, [`${componentName}-per-copy`, ...(scaleToZero ? [wakePolicyName(componentName)] : [])]);
      if (!scaleToZero) {
        alarms.delete(noCapacityAlarmName(componentName));
        return { resourceId, policyArn: `arn:policy/${resourceId}` };
      }
      alarms.set(noCapacityAlarmName(componentName), 'INSUFFICIENT_DATA');
      return {
        resourceId,
        policyArn: `arn:policy/${resourceId}`,
        wakeFromZero: { policyArn: `arn:policy/${resourceId}/wake`, alarmName: noCapacityAlarmName(componentName) },
      };
    },
    /** An idle endpoint (no invocations ever), as the lease reads it. */
    async endpointInvocations({ endpointName }) {
      calls.push(`endpointInvocations ${endpointName}`);
      const ep = endpoints.get(endpointName);
      return ep ? { endpointExists: true, status: ep.status, invocations: 0 } : { endpointExists: false, invocations: 0 };
    },
    /** The lease's scale to zero, with the real activity's refusals: a model-based variant, or a target with MinCapacity above 0. */
    async scaleEndpointToZero({ endpointName }) {
      calls.push(`scaleEndpointToZero ${endpointName}`);
      const ep = endpoints.get(endpointName);
      if (!ep) throw ApplicationFailure.nonRetryable(`Could not find endpoint ${endpointName}`, 'ValidationException');
      if (configs.get(ep.configName)?.modelName)
        throw ApplicationFailure.nonRetryable(`Endpoint ${endpointName} cannot scale to zero: a variant serves a model directly`, 'ScaleToZeroUnsupported');
      const hosted = [...components.entries()].filter(([, c]) => c.endpointName === endpointName);
      const floor = hosted.find(([name]) => (minCapacity.get(`inference-component/${name}`) ?? 0) > 0);
      if (floor)
        throw ApplicationFailure.nonRetryable(`inference component ${floor[0]} has a scalable target with MinCapacity above 0`, 'ScaleToZeroUnsupported');
      const scaledToZero = hosted.filter(([, c]) => c.desiredCopies > 0).map(([name]) => name);
      for (const [, c] of hosted) Object.assign(c, { desiredCopies: 0, currentCopies: 0 });
      return { scaledToZero, alreadyAtZero: hosted.map(([name]) => name).filter((n) => !scaledToZero.includes(n)), instancesKept: 0 };
    },
    async runningWorkflow({ workflowId }) {
      calls.push(`runningWorkflow ${workflowId}`);
      return running.has(workflowId) ? { running: true, runId: 'run-1', workflowType: 'fake' } : { running: false };
    },
    async registerAutoscaling({ endpointName, variantName }) {
      calls.push('registerAutoscaling');
      const resourceId = `endpoint/${endpointName}/variant/${variantName}`;
      targets.add(resourceId);
      return { resourceId, policyArn: `arn:policy/${resourceId}` };
    },
    async findScalableTargets({ endpointName, componentNames = [] }) {
      return [...targets].filter((t) => t.startsWith(`endpoint/${endpointName}/`) || componentNames.some((name) => t === `inference-component/${name}`));
    },
    async deregisterAutoscaling({ resourceId }) {
      calls.push(`deregisterAutoscaling ${resourceId}`);
      if (policies.get(resourceId)?.some((p) => p.endsWith('-wake-from-zero')))
        alarms.delete(noCapacityAlarmName(resourceId.replace(/^inference-component\//, '')));
      policies.delete(resourceId);
      minCapacity.delete(resourceId);
      return { deregistered: targets.delete(resourceId) };
    },
    async invokeEndpoint({ endpointName, inputs, inferenceComponentName }) {
      calls.push(inferenceComponentName ? `invokeEndpoint ${inferenceComponentName}` : 'invokeEndpoint');
      const hosted = [...components.values()].some((c) => c.endpointName === endpointName);
      if (hosted && !inferenceComponentName)
        throw ApplicationFailure.nonRetryable(
          'Inference Component Name header is required for endpoints to which you plan to deploy inference components.',
          'ValidationError',
        );
      if (inferenceComponentName && components.get(inferenceComponentName)?.status !== 'InService')
        throw ApplicationFailure.nonRetryable(`Inference component ${inferenceComponentName} is not InService`, 'ValidationError');
      behaviour.onSmokeTest?.();
      if (behaviour.smokeTestError) throw ApplicationFailure.nonRetryable(behaviour.smokeTestError, 'ModelError');
      return { generatedText: `${inputs} ... and they lived happily.`, latencyMs: 5, invokedVariant: 'AllTraffic' };
    },
    async countS3Records({ s3Uri }) {
      calls.push(`countS3Records ${s3Uri}`);
      const records = behaviour.s3Records?.[s3Uri] ?? 0;
      return { objects: records ? 1 : 0, records, bytes: records * 100 };
    },
    async countTransformOutputs({ outputS3Uri }) {
      calls.push(`countTransformOutputs ${outputS3Uri}`);
      const records = behaviour.s3Records?.[outputS3Uri] ?? 0;
      return { objects: records ? 1 : 0, records, bytes: records * 100, missingObjects: 0 };
    },
    async createTransformJob({ jobName, modelName, runTag }) {
      calls.push(`createTransformJob ${jobName}`);
      const existing = jobs.get(jobName);
      if (existing && existing.runTag !== runTag) throw ApplicationFailure.nonRetryable(`Transform job ${jobName} already exists`, 'ResourceConflict');
      if (!existing) jobs.set(jobName, { status: 'InProgress', pollsLeft: behaviour.jobPolls ?? 0, runTag, modelName });
      await delay();
      return { jobArn: `arn:transform-job/${jobName}`, created: !existing };
    },
    async awaitTransformJob({ jobName }) {
      polls++;
      const job = jobs.get(jobName)!;
      if (job.status === 'InProgress' && job.pollsLeft-- > 0)
        throw ApplicationFailure.create({ message: `Transform job ${jobName} is InProgress`, type: 'TransformJobNotDone', category: 'BENIGN' });
      if (job.status === 'InProgress') job.status = behaviour.jobEnd?.status ?? 'Completed';
      if (job.status === 'Failed')
        throw ApplicationFailure.nonRetryable(`Transform job ${jobName} failed: ${(behaviour.jobEnd as { reason: string }).reason}`, 'TransformJobFailed');
      if (job.status === 'Stopped') throw ApplicationFailure.nonRetryable(`Transform job ${jobName} was stopped`, 'TransformJobStopped');
      return { status: job.status, startTime: '2026-01-01T00:00:00.000Z', endTime: '2026-01-01T00:10:00.000Z' };
    },
    async stopTransformJob({ jobName }) {
      calls.push(`stopTransformJob ${jobName}`);
      const job = jobs.get(jobName);
      if (!job || job.status !== 'InProgress') return { stopRequested: false };
      job.status = 'Stopping';
      return { stopRequested: true };
    },
    async awaitTransformJobStopped({ jobName }) {
      calls.push('awaitTransformJobStopped');
      const job = jobs.get(jobName);
      if (job?.status === 'Stopping') job.status = 'Stopped';
      return job && { status: job.status };
    },
  } satisfies Partial<Activities>;

  return { activities, jobs, models, configs, endpoints, components, targets, policies, running, alarms, lastDeploymentConfig, calls, polls: () => polls };
}
