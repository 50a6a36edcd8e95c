// What an inference component runs (its model, compute requirements and startup parameters),
// in one shape shared by the workflow, which decides create/update/copy-count-only by comparing
// it with what exists, and the activities, which translate it to AWS's Specification and notice
// an update SageMaker rolled back. Workflow-safe: no I/O.
import type { ComponentSpec } from './endpoint-input.js';
import { inputFingerprint } from './resource-names.js';

export interface ComponentSpecShape {
  modelName: string;
  compute: { numberOfCpuCoresRequired?: number; numberOfAcceleratorDevicesRequired?: number; minMemoryRequiredInMb: number; maxMemoryRequiredInMb?: number };
  startupParameters: { modelDataDownloadTimeoutInSeconds?: number; containerStartupHealthCheckTimeoutInSeconds?: number };
}

export const componentSpecShape = (component: ComponentSpec, modelName: string): ComponentSpecShape => ({
  modelName,
  compute: component.compute,
  startupParameters: component.startupParameters,
});

/** Same spec, whatever the key order or the optional fields left out. */
export const sameComponentSpec = (a: ComponentSpecShape, b: ComponentSpecShape): boolean => inputFingerprint(a) === inputFingerprint(b);
