// AddTags / ListTags / DeleteTags for every resource type the emulator holds. Tags live beside
// the resources (by ARN) so adding a resource type only means teaching `resourceExists` about it.
import type { AddTagsInput, AddTagsOutput, DeleteTagsInput, DeleteTagsOutput, ListTagsInput, ListTagsOutput, Tag } from '@aws-sdk/client-sagemaker';
import type { Operation } from './context.js';
import { validationError } from './protocol.js';
import type { ResourceType, SageMakerStore } from './store.js';
import { InputChecks, SAGEMAKER_ARN_PATTERN } from './validation.js';

const MAX_TAGS_PER_RESOURCE = 50;

/** The "not found" wording AWS uses for each resource type. */
export const notFoundMessage: Record<ResourceType, (arn: string) => string> = {
  model: (arn) => `Could not find model "${arn}".`,
  'endpoint-config': (arn) => `Could not find endpoint configuration "${arn}".`,
  endpoint: (arn) => `Could not find endpoint "${arn}".`,
  'inference-component': (arn) => `Could not find inference component "${arn}".`,
  // AWS names jobs, not ARNs, in this message.
  'transform-job': (arn) => `Could not find requested job with name ${arn.slice(arn.lastIndexOf('/') + 1)}`,
};

/** Tagging is valid on a resource that exists under exactly this ARN (region included). */
function resourceExists(store: SageMakerStore, arn: string): boolean {
  return (
    store.models.values().some((r) => r.ModelArn === arn) ||
    store.endpointConfigs.values().some((r) => r.EndpointConfigArn === arn) ||
    store.endpoints.values().some((r) => r.EndpointArn === arn) ||
    store.inferenceComponents.values().some((r) => r.InferenceComponentArn === arn) ||
    store.transformJobs.values().some((r) => r.TransformJobArn === arn)
  );
}

function requireResource(store: SageMakerStore, arn: string): void {
  if (resourceExists(store, arn)) return;
  const type = /:([a-z-]+)\//.exec(arn)?.[1] as ResourceType | undefined;
  throw validationError(type && type in notFoundMessage ? notFoundMessage[type](arn) : `Could not find resource "${arn}".`);
}

/** Merges tags into a resource's set: same key overwrites, as AddTags documents. */
export function putTags(store: SageMakerStore, arn: string, tags: readonly Tag[] | undefined): void {
  if (!tags?.length) return;
  const merged = new Map((store.tags.get(arn) ?? []).map((t) => [t.Key, t]));
  for (const tag of tags) merged.set(tag.Key, { Key: tag.Key, Value: tag.Value });
  if (merged.size > MAX_TAGS_PER_RESOURCE) {
    throw validationError(`A resource can have at most ${MAX_TAGS_PER_RESOURCE} tags; this request would leave ${merged.size}.`);
  }
  store.tags.set(arn, [...merged.values()]);
}

function checkArn(checks: InputChecks, arn: unknown): arn is string {
  if (!checks.requiredString(arn, 'resourceArn')) return false;
  checks.maxLength(arn, 'resourceArn', 256);
  checks.pattern(arn, 'resourceArn', SAGEMAKER_ARN_PATTERN);
  return true;
}

export const addTags: Operation<AddTagsInput, AddTagsOutput> = (input, { store }) => {
  const checks = new InputChecks();
  checkArn(checks, input.ResourceArn);
  checks.required(input.Tags, 'tags');
  checks.tags(input.Tags, 'tags');
  checks.done();
  requireResource(store, input.ResourceArn!);
  putTags(store, input.ResourceArn!, input.Tags);
  store.save();
  return { Tags: input.Tags };
};

export const listTags: Operation<ListTagsInput, ListTagsOutput> = (input, { store }) => {
  const checks = new InputChecks();
  checkArn(checks, input.ResourceArn);
  checks.integerAtLeast(input.MaxResults, 'maxResults', 50);
  checks.done();
  requireResource(store, input.ResourceArn!);
  const tags = store.tags.get(input.ResourceArn!) ?? [];
  const offset = input.NextToken ? Number.parseInt(Buffer.from(input.NextToken, 'base64url').toString('utf8'), 10) : 0;
  if (!Number.isInteger(offset) || offset < 0) throw validationError('Invalid pagination token.');
  const max = input.MaxResults ?? 50;
  const next = offset + max;
  return {
    Tags: tags.slice(offset, next),
    NextToken: next < tags.length ? Buffer.from(String(next)).toString('base64url') : undefined,
  };
};

export const deleteTags: Operation<DeleteTagsInput, DeleteTagsOutput> = (input, { store }) => {
  const checks = new InputChecks();
  checkArn(checks, input.ResourceArn);
  if (checks.list(input.TagKeys, 'tagKeys', { required: true, min: 1, max: 50 })) {
    input.TagKeys!.forEach((k, i) => checks.requiredString(k, `tagKeys.${i + 1}.member`));
  }
  checks.done();
  requireResource(store, input.ResourceArn!);
  const drop = new Set(input.TagKeys);
  const kept = (store.tags.get(input.ResourceArn!) ?? []).filter((t) => !drop.has(t.Key!));
  if (kept.length) store.tags.set(input.ResourceArn!, kept);
  else store.tags.delete(input.ResourceArn!);
  store.save();
  return {};
};
