// UpdateEndpointWeightsAndCapacities: a new instance count (and weight) for variants of an
// InService endpoint, which Application Auto Scaling also calls to scale. The endpoint goes
// Updating while a fleet of the new size starts beside the serving one and takes over once it
// is healthy (endpoint-lifecycle.ts's update path), then InService again with the counts
// changed; if the new fleet cannot start, it rolls back like any failed update. AWS adds or
// removes single instances instead; here every instance of the endpoint restarts.
import type { UpdateEndpointWeightsAndCapacitiesInput, UpdateEndpointWeightsAndCapacitiesOutput } from '@aws-sdk/client-sagemaker';
import type { Operation } from './context.js';
import { checkInstanceQuota } from './instance-quota.js';
import { validationError } from './protocol.js';
import { sageMakerArn } from './store.js';
import { notFoundMessage } from './tags.js';
import { InputChecks } from './validation.js';

export const updateEndpointWeightsAndCapacities: Operation<UpdateEndpointWeightsAndCapacitiesInput, UpdateEndpointWeightsAndCapacitiesOutput> = (
  input,
  ctx,
) => {
  const checks = new InputChecks();
  checks.name(input.EndpointName, 'endpointName');
  if (checks.list(input.DesiredWeightsAndCapacities, 'desiredWeightsAndCapacities', { required: true, min: 1 })) {
    input.DesiredWeightsAndCapacities.forEach((d, i) => {
      const at = `desiredWeightsAndCapacities.${i + 1}.member`;
      checks.name(d?.VariantName, `${at}.variantName`);
      checks.numberAtLeast(d?.DesiredWeight, `${at}.desiredWeight`, 0);
      checks.integerAtLeast(d?.DesiredInstanceCount, `${at}.desiredInstanceCount`, 0);
    });
  }
  checks.done();
  const name = input.EndpointName!;
  const endpoint = ctx.store.endpoints.get(name);
  if (!endpoint) throw validationError(notFoundMessage.endpoint(sageMakerArn(ctx.region, 'endpoint', name)));
  if (endpoint.EndpointStatus !== 'InService' || !endpoint.deployed) {
    throw validationError(`Cannot update in-progress endpoint "${endpoint.EndpointArn}".`);
  }
  const desired = input.DesiredWeightsAndCapacities!;
  const missing = desired.filter((d) => !endpoint.deployed!.variants.some((v) => v.variantName === d.VariantName)).map((d) => d.VariantName);
  if (missing.length) throw validationError(`The variant(s) "[${missing.join(', ')}]" is/are not present in the endpoint "${endpoint.EndpointArn}".`);
  if (desired.some((d) => d.DesiredInstanceCount === 0)) {
    throw validationError(
      'DesiredInstanceCount must be at least 1 for a variant that serves a model (only inference-component endpoints scale instances to 0).',
    );
  }
  const variants = endpoint.deployed.variants.map((v) => {
    const change = desired.find((d) => d.VariantName === v.variantName);
    return { ...v, instanceCount: change?.DesiredInstanceCount ?? v.instanceCount, weight: change?.DesiredWeight ?? v.weight };
  });
  checkInstanceQuota(ctx.store, 'endpoint', variants);
  Object.assign(endpoint, {
    EndpointStatus: 'Updating' as const,
    LastModifiedTime: Date.now(),
    FailureReason: undefined,
    pending: { EndpointConfigName: endpoint.deployed.EndpointConfigName, variants, kind: 'update' as const, startedAt: Date.now() },
  });
  ctx.store.save();
  ctx.endpoints.launch(endpoint);
  return { EndpointArn: endpoint.EndpointArn };
};
