// The ml.* instance types a deploy can check resource requirements against: AWS's published
// vCPUs, accelerator devices (GPUs, or Neuron devices for inf2) and memory for each. Used to
// refuse, before any call, an inference component that cannot fit on its endpoint's instance.
// Source: the SageMaker pricing page's instance table (https://aws.amazon.com/sagemaker/pricing/).
// Workflow-safe: plain data.

export interface InstanceTypeResources {
  vcpus: number;
  acceleratorDevices: number;
  memoryMiB: number;
}

const GIB = 1024;

export const INSTANCE_TYPES: Readonly<Record<string, InstanceTypeResources>> = {
  'ml.m5.large': { vcpus: 2, acceleratorDevices: 0, memoryMiB: 8 * GIB },
  'ml.m5.xlarge': { vcpus: 4, acceleratorDevices: 0, memoryMiB: 16 * GIB },
  'ml.m5.2xlarge': { vcpus: 8, acceleratorDevices: 0, memoryMiB: 32 * GIB },
  'ml.m5.4xlarge': { vcpus: 16, acceleratorDevices: 0, memoryMiB: 64 * GIB },
  'ml.c5.large': { vcpus: 2, acceleratorDevices: 0, memoryMiB: 4 * GIB },
  'ml.c5.xlarge': { vcpus: 4, acceleratorDevices: 0, memoryMiB: 8 * GIB },
  'ml.c5.2xlarge': { vcpus: 8, acceleratorDevices: 0, memoryMiB: 16 * GIB },
  'ml.c5.4xlarge': { vcpus: 16, acceleratorDevices: 0, memoryMiB: 32 * GIB },
  'ml.c5.9xlarge': { vcpus: 36, acceleratorDevices: 0, memoryMiB: 72 * GIB },
  'ml.c5.18xlarge': { vcpus: 72, acceleratorDevices: 0, memoryMiB: 144 * GIB },
  'ml.g5.xlarge': { vcpus: 4, acceleratorDevices: 1, memoryMiB: 16 * GIB },
  'ml.g5.2xlarge': { vcpus: 8, acceleratorDevices: 1, memoryMiB: 32 * GIB },
  'ml.g5.12xlarge': { vcpus: 48, acceleratorDevices: 4, memoryMiB: 192 * GIB },
  'ml.g5.48xlarge': { vcpus: 192, acceleratorDevices: 8, memoryMiB: 768 * GIB },
  'ml.g6.xlarge': { vcpus: 4, acceleratorDevices: 1, memoryMiB: 16 * GIB },
  'ml.g6.2xlarge': { vcpus: 8, acceleratorDevices: 1, memoryMiB: 32 * GIB },
  'ml.g6.12xlarge': { vcpus: 48, acceleratorDevices: 4, memoryMiB: 192 * GIB },
  'ml.p4d.24xlarge': { vcpus: 96, acceleratorDevices: 8, memoryMiB: 1152 * GIB },
  'ml.p5.48xlarge': { vcpus: 192, acceleratorDevices: 8, memoryMiB: 2048 * GIB },
  'ml.inf2.xlarge': { vcpus: 4, acceleratorDevices: 1, memoryMiB: 16 * GIB },
  'ml.inf2.8xlarge': { vcpus: 32, acceleratorDevices: 1, memoryMiB: 128 * GIB },
};
