// The ml.* instance types the project knows the size of: vCPUs, accelerator devices (GPUs,
// or Inferentia/Trainium chips) and memory, as AWS publishes them for the EC2 instance each
// ml.* type runs on. Pure data: deploy-input validation (workflows) and the local cloud's
// placement of inference-component copies both read it, so a component that cannot fit is
// refused the same way in both places.

export interface InstanceTypeSize {
  vCpus: number;
  /** GPUs, or Neuron devices for inf2/trn1; 0 for CPU-only types. */
  acceleratorDevices: number;
  memoryMiB: number;
}

const GiB = 1024;

function size(vCpus: number, memoryGiB: number, acceleratorDevices = 0): InstanceTypeSize {
  return { vCpus, acceleratorDevices, memoryMiB: memoryGiB * GiB };
}

/** By instance type name (`ml.g5.xlarge`). Sources: the EC2 instance type pages of each family. */
export const INSTANCE_TYPES: Readonly<Record<string, InstanceTypeSize>> = {
  'ml.t2.medium': size(2, 4),
  'ml.t2.large': size(2, 8),
  'ml.m5.large': size(2, 8),
  'ml.m5.xlarge': size(4, 16),
  'ml.m5.2xlarge': size(8, 32),
  'ml.m5.4xlarge': size(16, 64),
  'ml.m5.12xlarge': size(48, 192),
  'ml.m5.24xlarge': size(96, 384),
  'ml.c5.large': size(2, 4),
  'ml.c5.xlarge': size(4, 8),
  'ml.c5.2xlarge': size(8, 16),
  'ml.c5.4xlarge': size(16, 32),
  'ml.c5.9xlarge': size(36, 72),
  'ml.c5.18xlarge': size(72, 144),
  'ml.g5.xlarge': size(4, 16, 1),
  'ml.g5.2xlarge': size(8, 32, 1),
  'ml.g5.4xlarge': size(16, 64, 1),
  'ml.g5.8xlarge': size(32, 128, 1),
  'ml.g5.12xlarge': size(48, 192, 4),
  'ml.g5.16xlarge': size(64, 256, 1),
  'ml.g5.24xlarge': size(96, 384, 4),
  'ml.g5.48xlarge': size(192, 768, 8),
  'ml.g6.xlarge': size(4, 16, 1),
  'ml.g6.2xlarge': size(8, 32, 1),
  'ml.g6.4xlarge': size(16, 64, 1),
  'ml.g6.8xlarge': size(32, 128, 1),
  'ml.g6.12xlarge': size(48, 192, 4),
  'ml.g6.16xlarge': size(64, 256, 1),
  'ml.g6.24xlarge': size(96, 384, 4),
  'ml.g6.48xlarge': size(192, 768, 8),
  'ml.p4d.24xlarge': size(96, 1152, 8),
  'ml.p5.48xlarge': size(192, 2048, 8),
  'ml.inf2.xlarge': size(4, 16, 1),
  'ml.inf2.8xlarge': size(32, 128, 1),
  'ml.inf2.24xlarge': size(96, 384, 6),
  'ml.inf2.48xlarge': size(192, 768, 12),
};

export function instanceTypeSize(instanceType: string | undefined): InstanceTypeSize | undefined {
  return instanceType !== undefined && Object.hasOwn(INSTANCE_TYPES, instanceType) ? INSTANCE_TYPES[instanceType] : undefined;
}

/** What one inference-component copy asks for (ComputeResourceRequirements). */
export interface CopyRequirements {
  cpus: number;
  acceleratorDevices: number;
  memoryMiB: number;
}

/** Why a copy with these requirements can never fit on one instance of `type`, or undefined when it can. */
export function exceedsInstance(req: CopyRequirements, type: InstanceTypeSize): string | undefined {
  const over: string[] = [];
  if (req.cpus > type.vCpus) over.push(`${req.cpus} CPU cores (the instance has ${type.vCpus})`);
  if (req.acceleratorDevices > type.acceleratorDevices) {
    over.push(`${req.acceleratorDevices} accelerator devices (the instance has ${type.acceleratorDevices})`);
  }
  if (req.memoryMiB > type.memoryMiB) over.push(`${req.memoryMiB} MB of memory (the instance has ${type.memoryMiB})`);
  return over.length ? over.join(', ') : undefined;
}
