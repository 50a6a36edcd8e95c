// SageMaker's name rules as zod schemas, in a module of their own: the per-request workflows
// (ragQuery) validate names too, and each workflow run evaluates its bundle's modules afresh, so
// importing them from the deploy input module built all of its schemas on every query
// (~27 ms of worker CPU per run, bench/overhead.ts).
import { z } from 'zod';

// AWS's pattern for endpoint, config and model names (63 characters at most).
export const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

export const endpointNameSchema = z
  .string({ error: 'is required and must be a string' })
  .regex(SAGEMAKER_NAME, 'must match ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$ (letters, digits and hyphens, 1-63 characters)');

const INFERENCE_COMPONENT_NAME_RULE = 'must match ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$ (letters, digits and hyphens, 1-63 characters)';

/** An inference component's name, as AWS's InferenceComponentName pattern allows it. */
export const inferenceComponentNameSchema = z.string().max(63, 'must be at most 63 characters').regex(SAGEMAKER_NAME, INFERENCE_COMPONENT_NAME_RULE);
