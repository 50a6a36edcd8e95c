// The tags this project puts on what it creates, and reading them back: whether a resource
// belongs to this workflow run (so a retried create still reports `created: true`) and which
// endpoint it serves (so teardown finds it). Shared by the endpoint and transform activities.
import { ListTagsCommand, type SageMakerClient, type Tag } from '@aws-sdk/client-sagemaker';
import { TAG_CREATED_BY, TAG_ENDPOINT } from '../common/resource-names.js';
import { callAws } from './aws-errors.js';

/** Who created a resource, plus the user's own tags. */
export interface OwnershipTags {
  /** `<workflowId>/<runId>` of the run creating the resource. */
  runTag: string;
  extra?: Record<string, string>;
}

/** The tags of a model, endpoint config or endpoint: ownership and the endpoint it serves. */
export interface ResourceTags extends OwnershipTags {
  endpointName: string;
}

/** The user's tags, then ours (a transform job has no endpoint tag). */
export const toTags = ({ endpointName, runTag, extra }: OwnershipTags & { endpointName?: string }): Tag[] => [
  ...Object.entries(extra ?? {}).map(([Key, Value]) => ({ Key, Value })),
  ...(endpointName === undefined ? [] : [{ Key: TAG_ENDPOINT, Value: endpointName }]),
  { Key: TAG_CREATED_BY, Value: runTag },
];

export async function readTags(sagemaker: SageMakerClient, arn: string): Promise<Record<string, string>> {
  const out = await callAws(`ListTags ${arn}`, () => sagemaker.send(new ListTagsCommand({ ResourceArn: arn })));
  return Object.fromEntries((out.Tags ?? []).map((t) => [t.Key!, t.Value ?? '']));
}
