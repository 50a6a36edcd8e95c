// The model container a workflow asks CreateModel for: image, environment and the reference to
// the Hugging Face token (resolved on the worker, never the token). The deploy and batch workflows both build
// it from the same model input, so it is derived once here. Workflow-safe: no I/O.
import type { z } from 'zod';
import { type ImageFamilyName, imageFamilyNameOf } from './container-format.js';
import type { modelSchema, SecretRef } from './endpoint-input.js';

export type ModelSpec = z.output<typeof modelSchema>;

const FAMILY_LIMIT_VARIABLES: Record<ImageFamilyName, (maxTotalTokens: number) => Record<string, string>> = {
  tgi: () => ({}),
  vllm: (n) => ({ SM_VLLM_MAX_MODEL_LEN: String(n) }),
  lmi: (n) => ({ OPTION_MAX_MODEL_LEN: String(n) }),
};

export function modelContainer(model: ModelSpec): { image: string; environment: Record<string, string>; hfTokenSecret?: SecretRef } {
  return {
    image: model.image,
    // What TGI reads, and the same limit in the vLLM and LMI images' own variables (the local
    // cloud's model server reads each family's); user entries may override.
    environment: {
      HF_MODEL_ID: model.hfModelId,
      SM_NUM_GPUS: String(model.numGpus),
      MAX_INPUT_LENGTH: String(model.maxInputTokens),
      MAX_TOTAL_TOKENS: String(model.maxTotalTokens),
      ...FAMILY_LIMIT_VARIABLES[imageFamilyNameOf(model.image) ?? 'tgi'](model.maxTotalTokens),
      ...model.environment,
    },
    hfTokenSecret: model.hfTokenSecret,
  };
}
