// SageMaker inference-component activities: create, describe, update (a rolling update of the
// spec, or a copy-count-only runtime change), delete, list, and our own waiters (the JS SDK has
// no IC waiter): one Describe per attempt, "not yet" retried as a poll, so a wait costs the
// workflow history one activity however long it takes. Idempotent like activities/sagemaker.ts:
// "already exists" means describe and compare, "not found" on delete means done, and whether
// this run created a component is read from its created-by tag.
import {
  CreateInferenceComponentCommand,
  DeleteInferenceComponentCommand,
  DescribeInferenceComponentCommand,
  paginateListInferenceComponents,
  UpdateInferenceComponentCommand,
  UpdateInferenceComponentRuntimeConfigCommand,
  type DescribeInferenceComponentOutput,
  type InferenceComponentSpecification,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { ApplicationFailure } from '@temporalio/common';
import { sameComponentSpec, type ComponentSpecShape } from '../common/inference-component-spec.js';
import { TAG_CREATED_BY } from '../common/resource-names.js';
import { awsPages, callAws, callAwsOrUndefined, classifyAwsError, isAlreadyExists, isNotFound, notYet } from './aws-errors.js';
import { readTags, toTags, type ResourceTags } from './resource-tags.js';
import type { DeleteOutcome } from './sagemaker.js';

export interface RollingUpdatePolicy {
  maximumBatchSize: { type: 'COPY_COUNT' | 'CAPACITY_PERCENT'; value: number };
  waitIntervalInSeconds: number;
  maximumExecutionTimeoutInSeconds?: number;
  rollbackMaximumBatchSize?: { type: 'COPY_COUNT' | 'CAPACITY_PERCENT'; value: number };
  alarms: string[];
}

export interface InferenceComponentState {
  /** 'NotFound' when there is no such component. */
  status: string;
  arn?: string;
  endpointName?: string;
  spec?: ComponentSpecShape;
  desiredCopies?: number;
  currentCopies?: number;
  failureReason?: string;
  createdBy?: string;
}

const BUSY = new Set(['Creating', 'Updating', 'Deleting']);

const toSpecification = ({ modelName, compute, startupParameters }: ComponentSpecShape): InferenceComponentSpecification => ({
  ModelName: modelName,
  ComputeResourceRequirements: {
    NumberOfCpuCoresRequired: compute.numberOfCpuCoresRequired,
    NumberOfAcceleratorDevicesRequired: compute.numberOfAcceleratorDevicesRequired,
    MinMemoryRequiredInMb: compute.minMemoryRequiredInMb,
    MaxMemoryRequiredInMb: compute.maxMemoryRequiredInMb,
  },
  StartupParameters:
    startupParameters.modelDataDownloadTimeoutInSeconds === undefined && startupParameters.containerStartupHealthCheckTimeoutInSeconds === undefined
      ? undefined
      : {
          ModelDataDownloadTimeoutInSeconds: startupParameters.modelDataDownloadTimeoutInSeconds,
          ContainerStartupHealthCheckTimeoutInSeconds: startupParameters.containerStartupHealthCheckTimeoutInSeconds,
        },
});

function specOf(ic: DescribeInferenceComponentOutput): ComponentSpecShape {
  const s = ic.Specification;
  const c = s?.ComputeResourceRequirements;
  const p = s?.StartupParameters;
  return {
    modelName: s?.ModelName ?? '',
    compute: {
      numberOfCpuCoresRequired: c?.NumberOfCpuCoresRequired,
      numberOfAcceleratorDevicesRequired: c?.NumberOfAcceleratorDevicesRequired,
      minMemoryRequiredInMb: c?.MinMemoryRequiredInMb ?? 0,
      maxMemoryRequiredInMb: c?.MaxMemoryRequiredInMb,
    },
    startupParameters: {
      modelDataDownloadTimeoutInSeconds: p?.ModelDataDownloadTimeoutInSeconds,
      containerStartupHealthCheckTimeoutInSeconds: p?.ContainerStartupHealthCheckTimeoutInSeconds,
    },
  };
}

export function createInferenceComponentActivities({ sagemaker }: { sagemaker: SageMakerClient }) {
  const describe = (name: string) =>
    callAwsOrUndefined(`DescribeInferenceComponent ${name}`, () => sagemaker.send(new DescribeInferenceComponentCommand({ InferenceComponentName: name })));

  const self = {
    async describeInferenceComponentStatus({ componentName }: { componentName: string }): Promise<InferenceComponentState> {
      const ic = await describe(componentName);
      if (!ic) return { status: 'NotFound' };
      return {
        status: ic.InferenceComponentStatus ?? 'Unknown',
        arn: ic.InferenceComponentArn,
        endpointName: ic.EndpointName,
        spec: specOf(ic),
        desiredCopies: ic.RuntimeConfig?.DesiredCopyCount,
        currentCopies: ic.RuntimeConfig?.CurrentCopyCount,
        failureReason: ic.FailureReason,
        createdBy: (await readTags(sagemaker, ic.InferenceComponentArn!))[TAG_CREATED_BY],
      };
    },

    async createInferenceComponent(input: {
      componentName: string;
      endpointName: string;
      variantName: string;
      spec: ComponentSpecShape;
      copyCount: number;
      tags: ResourceTags;
    }): Promise<{ arn: string; created: boolean }> {
      try {
        const out = await sagemaker.send(
          new CreateInferenceComponentCommand({
            InferenceComponentName: input.componentName,
            EndpointName: input.endpointName,
            VariantName: input.variantName,
            Specification: toSpecification(input.spec),
            RuntimeConfig: { CopyCount: input.copyCount },
            Tags: toTags(input.tags),
          }),
        );
        return { arn: out.InferenceComponentArn!, created: true };
      } catch (err) {
        if (!isAlreadyExists(err)) return classifyAwsError(err, `CreateInferenceComponent ${input.componentName}`);
      }
      // An earlier attempt of ours, or a name another deploy holds: tell them apart by spec and tag.
      const existing = await self.describeInferenceComponentStatus({ componentName: input.componentName });
      if (existing.endpointName !== input.endpointName || !existing.spec || !sameComponentSpec(existing.spec, input.spec)) {
        throw ApplicationFailure.nonRetryable(
          `Inference component ${input.componentName} already exists on endpoint ${existing.endpointName} with a different spec; delete it or choose another component name`,
          'ResourceConflict',
        );
      }
      return { arn: existing.arn!, created: existing.createdBy === input.tags.runTag };
    },

    /** A rolling update of the spec (and copies); "not yet" while the component is busy. */
    async updateInferenceComponent(input: {
      componentName: string;
      spec: ComponentSpecShape;
      copyCount?: number;
      rollingUpdate?: RollingUpdatePolicy;
      ifExists?: boolean;
    }): Promise<{ updated: boolean }> {
      const now = await self.describeInferenceComponentStatus({ componentName: input.componentName });
      if (now.status === 'NotFound') {
        if (input.ifExists) return { updated: false };
        throw ApplicationFailure.nonRetryable(`Inference component ${input.componentName} does not exist`, 'InferenceComponentNotFound');
      }
      if (
        now.spec &&
        sameComponentSpec(now.spec, input.spec) &&
        (input.copyCount === undefined || now.desiredCopies === input.copyCount) &&
        !BUSY.has(now.status)
      ) {
        return { updated: true }; // an earlier attempt's update already landed
      }
      if (BUSY.has(now.status))
        throw notYet(`Inference component ${input.componentName} is ${now.status}; AWS cannot update it until that ends`, 'InferenceComponentBusy');
      const policy = input.rollingUpdate;
      await callAws(`UpdateInferenceComponent ${input.componentName}`, () =>
        sagemaker.send(
          new UpdateInferenceComponentCommand({
            InferenceComponentName: input.componentName,
            Specification: toSpecification(input.spec),
            RuntimeConfig: input.copyCount === undefined ? undefined : { CopyCount: input.copyCount },
            DeploymentConfig: policy && {
              RollingUpdatePolicy: {
                MaximumBatchSize: { Type: policy.maximumBatchSize.type, Value: policy.maximumBatchSize.value },
                WaitIntervalInSeconds: policy.waitIntervalInSeconds,
                MaximumExecutionTimeoutInSeconds: policy.maximumExecutionTimeoutInSeconds,
                RollbackMaximumBatchSize: policy.rollbackMaximumBatchSize && {
                  Type: policy.rollbackMaximumBatchSize.type,
                  Value: policy.rollbackMaximumBatchSize.value,
                },
              },
              AutoRollbackConfiguration: policy.alarms.length ? { Alarms: policy.alarms.map((AlarmName) => ({ AlarmName })) } : undefined,
            },
          }),
        ),
      );
      return { updated: true };
    },

    /** Changes only the copy count (UpdateInferenceComponentRuntimeConfig). */
    async updateInferenceComponentCopyCount({
      componentName,
      copyCount,
      ifExists,
    }: {
      componentName: string;
      copyCount: number;
      ifExists?: boolean;
    }): Promise<{ updated: boolean }> {
      const now = await self.describeInferenceComponentStatus({ componentName });
      if (now.status === 'NotFound') {
        if (ifExists) return { updated: false };
        throw ApplicationFailure.nonRetryable(`Inference component ${componentName} does not exist`, 'InferenceComponentNotFound');
      }
      if (now.desiredCopies === copyCount) return { updated: true };
      if (BUSY.has(now.status))
        throw notYet(`Inference component ${componentName} is ${now.status}; AWS cannot change its copies until that ends`, 'InferenceComponentBusy');
      await callAws(`UpdateInferenceComponentRuntimeConfig ${componentName}`, () =>
        sagemaker.send(
          new UpdateInferenceComponentRuntimeConfigCommand({ InferenceComponentName: componentName, DesiredRuntimeConfig: { CopyCount: copyCount } }),
        ),
      );
      return { updated: true };
    },

    /**
     * One poll of a wait-for-InService. With `expected`, a component InService on another spec
     * is an update SageMaker rolled back, which fails with its reason.
     */
    async awaitInferenceComponentInService({
      componentName,
      expected,
    }: {
      componentName: string;
      expected?: ComponentSpecShape;
    }): Promise<{ status: string; desiredCopies?: number; currentCopies?: number }> {
      const ic = await describe(componentName);
      if (!ic)
        throw ApplicationFailure.nonRetryable(`Inference component ${componentName} does not exist (deleted while waiting?)`, 'InferenceComponentNotFound');
      const status = ic.InferenceComponentStatus ?? 'Unknown';
      if (status === 'Failed') {
        throw ApplicationFailure.nonRetryable(
          `Inference component ${componentName} failed: ${ic.FailureReason ?? 'no FailureReason given'}`,
          'InferenceComponentFailed',
          { failureReason: ic.FailureReason },
        );
      }
      if (status !== 'InService') throw notYet(`Inference component ${componentName} is ${status}`, 'InferenceComponentNotReady');
      if (expected && !sameComponentSpec(specOf(ic), expected)) {
        throw ApplicationFailure.nonRetryable(
          `Update of inference component ${componentName} was rolled back (still on model ${ic.Specification?.ModelName}): ${ic.FailureReason ?? 'no FailureReason given'}`,
          'InferenceComponentUpdateFailed',
          { failureReason: ic.FailureReason },
        );
      }
      const desired = ic.RuntimeConfig?.DesiredCopyCount;
      const current = ic.RuntimeConfig?.CurrentCopyCount;
      // A copy-count change can leave the component InService while copies are still starting
      // (or short of room on the instances): wait until every copy it asked for serves.
      if (desired !== undefined && current !== undefined && current < desired) {
        throw notYet(
          `Inference component ${componentName} has ${current} of ${desired} copies${ic.FailureReason ? ` (${ic.FailureReason})` : ''}`,
          'InferenceComponentNotReady',
        );
      }
      return { status, desiredCopies: desired, currentCopies: current };
    },

    /** Deletes a component; with `ownedBy`, only one that run created. "Not yet" while busy. */
    async deleteInferenceComponent({ componentName, ownedBy }: { componentName: string; ownedBy?: string }): Promise<DeleteOutcome> {
      const now = await self.describeInferenceComponentStatus({ componentName });
      if (now.status === 'NotFound') return { deleted: false };
      if (ownedBy !== undefined && now.createdBy !== ownedBy) return { deleted: false, kept: `created by ${now.createdBy ?? 'someone outside this project'}` };
      if (now.status === 'Deleting') return { deleted: true };
      if (BUSY.has(now.status))
        throw notYet(`Inference component ${componentName} is ${now.status}; AWS cannot delete it until that ends`, 'InferenceComponentNotDeletable');
      try {
        await sagemaker.send(new DeleteInferenceComponentCommand({ InferenceComponentName: componentName }));
        return { deleted: true };
      } catch (err) {
        if (isNotFound(err)) return { deleted: false };
        return classifyAwsError(err, `DeleteInferenceComponent ${componentName}`);
      }
    },

    /** One poll of a wait-until-gone. */
    async awaitInferenceComponentDeleted({ componentName }: { componentName: string }): Promise<void> {
      const ic = await describe(componentName);
      if (!ic) return;
      if (ic.InferenceComponentStatus !== 'Deleting') await self.deleteInferenceComponent({ componentName });
      throw notYet(`Inference component ${componentName} is ${ic.InferenceComponentStatus}`, 'InferenceComponentNotDeleted');
    },

    /** The components on an endpoint (every page). */
    async listInferenceComponents({ endpointName }: { endpointName: string }): Promise<string[]> {
      const names: string[] = [];
      for await (const page of awsPages(
        'ListInferenceComponents',
        paginateListInferenceComponents({ client: sagemaker }, { EndpointNameEquals: endpointName, MaxResults: 100 }),
      )) {
        for (const ic of page.InferenceComponents ?? []) names.push(ic.InferenceComponentName!);
      }
      return names;
    },
  };
  return self;
}
