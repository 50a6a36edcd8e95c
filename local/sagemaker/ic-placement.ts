// Where inference-component copies run: the instances of an inference-component endpoint's
// variant, each with the CPU cores, accelerator devices and memory of its instance type
// (common/instance-types.ts), and the copies placed on it by their ComputeResourceRequirements.
// Instances here are bookkeeping only (no process): each copy is its own model process.
// With ManagedInstanceScaling enabled, an instance is added (up to MaxInstanceCount) when a copy
// fits on none, and empty instances are removed (down to MinInstanceCount, which may be 0).
import { exceedsInstance, type CopyRequirements, type InstanceTypeSize } from '../../common/instance-types.js';
import { newInstanceId } from '../instances/instance.js';

export interface PlacedCopy {
  copyId: string;
  component: string;
  requirements: CopyRequirements;
}

export interface VirtualInstance {
  instanceId: string;
  copies: PlacedCopy[];
}

export interface VariantCapacity {
  variantName: string;
  instanceType: string;
  size: InstanceTypeSize;
  /** Absent without ManagedInstanceScaling (Status ENABLED): the instance count stays as created. */
  managed?: { min: number; max: number };
  instances: VirtualInstance[];
}

export function newCapacity(
  variantName: string,
  instanceType: string,
  size: InstanceTypeSize,
  initialInstanceCount: number,
  managed?: { min: number; max: number },
): VariantCapacity {
  return {
    variantName,
    instanceType,
    size,
    managed,
    instances: Array.from({ length: initialInstanceCount }, () => ({ instanceId: newInstanceId(), copies: [] })),
  };
}

function used(instance: VirtualInstance): CopyRequirements {
  return instance.copies.reduce(
    (sum, c) => ({
      cpus: sum.cpus + c.requirements.cpus,
      acceleratorDevices: sum.acceleratorDevices + c.requirements.acceleratorDevices,
      memoryMiB: sum.memoryMiB + c.requirements.memoryMiB,
    }),
    { cpus: 0, acceleratorDevices: 0, memoryMiB: 0 },
  );
}

function fits(instance: VirtualInstance, size: InstanceTypeSize, req: CopyRequirements): boolean {
  const u = used(instance);
  return (
    u.cpus + req.cpus <= size.vCpus && u.acceleratorDevices + req.acceleratorDevices <= size.acceleratorDevices && u.memoryMiB + req.memoryMiB <= size.memoryMiB
  );
}

/**
 * Places one copy: on the first instance with room, else on a new instance if managed scaling
 * allows one more. Returns the instance, or undefined when the copy fits nowhere.
 */
export function placeCopy(capacity: VariantCapacity, copy: PlacedCopy): VirtualInstance | undefined {
  if (exceedsInstance(copy.requirements, capacity.size)) return undefined;
  let instance = capacity.instances.find((i) => fits(i, capacity.size, copy.requirements));
  if (!instance && capacity.managed && capacity.instances.length < capacity.managed.max) {
    instance = { instanceId: newInstanceId(), copies: [] };
    capacity.instances.push(instance);
  }
  instance?.copies.push(copy);
  return instance;
}

export function releaseCopy(capacity: VariantCapacity, copyId: string): void {
  for (const instance of capacity.instances) instance.copies = instance.copies.filter((c) => c.copyId !== copyId);
}

/** Managed scaling's scale-in: drops empty instances, newest first, down to MinInstanceCount. */
export function removeEmptyInstances(capacity: VariantCapacity): void {
  if (!capacity.managed) return;
  for (let i = capacity.instances.length - 1; i >= 0 && capacity.instances.length > capacity.managed.min; i--) {
    if (capacity.instances[i].copies.length === 0) capacity.instances.splice(i, 1);
  }
}

/** Why no more copies can be placed, in the words DescribeInferenceComponent's FailureReason uses. */
export function noRoomReason(capacity: VariantCapacity, component: string, unplaced: number): string {
  const limit = capacity.managed ? `the maximum of ${capacity.managed.max}` : `${capacity.instances.length}`;
  return `Insufficient capacity to place ${unplaced} cop${unplaced === 1 ? 'y' : 'ies'} of inference component ${component}: no instance of production variant ${capacity.variantName} (${capacity.instanceType}, ${limit} instance(s)) has the compute resources it requires left.`;
}
