// Deterministic resource names: the same input always names the same model and endpoint
// config, so a re-run finds what an earlier run created instead of duplicating it, and a
// changed model or variant gets a new config name, which is what a blue/green update needs.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { DeploySpec, InferenceComponentsDeploySpec } from './endpoint-input.js';
import type { ModelSpec } from './model-container.js';

/** FNV-1a, 32 bit: tiny, pure and stable across runtimes (workflow code may not use crypto). */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/** JSON with sorted keys, so property order in the input does not change the hash. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

// Names are capped at 63 characters; keep room for "-m-" / "-c-" and an 8-hex hash.
const base = (endpointName: string) => endpointName.slice(0, 50).replace(/-+$/, '');

export function modelName(spec: Pick<DeploySpec, 'endpointName' | 'model'>): string {
  return `${base(spec.endpointName)}-m-${fnv1a(canonical(spec.model))}`;
}

/** An inference-component endpoint's config: the variant and role only (no model in it). */
export function inferenceComponentsConfigName(spec: InferenceComponentsDeploySpec, roleArn: string): string {
  return `${base(spec.endpointName)}-c-${fnv1a(canonical({ variant: spec.variant, roleArn }))}`;
}

/** The model behind one inference component (same naming as a model-based deploy's). */
export const componentModelName = (endpointName: string, model: ModelSpec): string => modelName({ endpointName, model });

export function endpointConfigName(spec: DeploySpec): string {
  return `${base(spec.endpointName)}-c-${fnv1a(canonical({ model: modelName(spec), variant: spec.variant, asyncInference: spec.asyncInference }))}`;
}

/**
 * A transform job's name: fixed for the whole chain of runs of one workflow (retries included,
 * via the first run's id), so a retried activity or workflow finds its own job instead of
 * starting a duplicate, while another workflow never collides with it.
 */
export function transformJobName(prefix: string, workflowId: string, firstExecutionRunId: string): string {
  return `${prefix}-${fnv1a(`${workflowId}/${firstExecutionRunId}`)}`;
}

/** Workflow ids derived from the endpoint: one deploy and one teardown of it at a time. */
export const deployWorkflowId = (endpointName: string) => `deploy-${endpointName}`;
export const teardownWorkflowId = (endpointName: string) => `teardown-${endpointName}`;

/**
 * A fingerprint of a workflow input (sorted-key JSON, FNV-1a), kept in the run's memo so a
 * second start can tell "the same deploy again" (attach to it) from a different one (refuse).
 */
export const inputFingerprint = (input: unknown): string => fnv1a(canonical(input));

/** One shared execution role: it costs nothing, and per-endpoint roles would pile up. */
export const DEFAULT_EXECUTION_ROLE_NAME = 'LlmOpsSageMakerExecutionRole';

/** Application Auto Scaling's id for a production variant. */
export const variantResourceId = (endpointName: string, variantName: string) => `endpoint/${endpointName}/variant/${variantName}`;

/** Application Auto Scaling's id for an inference component. */
export const inferenceComponentResourceId = (componentName: string) => `inference-component/${componentName}`;

export const scalingPolicyName = (endpointName: string, variantName: string) => `${endpointName}-${variantName}-invocations-per-instance`;

/** Tags put on every resource a deploy creates, so teardown and compensation can find them. */
export const TAG_ENDPOINT = 'llmops:endpoint-name';
export const TAG_CREATED_BY = 'llmops:created-by-run';

/** Search attribute set by every endpoint workflow, so the Web UI can filter by endpoint. */
export const ENDPOINT_NAME_ATTRIBUTE = defineSearchAttributeKey('EndpointName', SearchAttributeType.KEYWORD);

/** Set by the lease workflow, so the Web UI lists endpoints by lease state and deadline. */
export const LEASE_STATE_ATTRIBUTE = defineSearchAttributeKey('LeaseState', SearchAttributeType.KEYWORD);
export const LEASE_DEADLINE_ATTRIBUTE = defineSearchAttributeKey('LeaseDeadline', SearchAttributeType.DATETIME);

/** Every custom search attribute, for the dev server's and the test servers' registration. */
export const SEARCH_ATTRIBUTES = [ENDPOINT_NAME_ATTRIBUTE, LEASE_STATE_ATTRIBUTE, LEASE_DEADLINE_ATTRIBUTE];
