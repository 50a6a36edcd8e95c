// The model container a workflow asks CreateModel for: image, environment and the reference to
// the Hugging Face token (resolved on the worker, never the token). The deploy and batch workflows both build
// it from the same model input, so it is derived once here. Workflow-safe: no I/O.
import type { z } from 'zod';
import type { modelSchema, SecretRef } from './endpoint-input.js';

export type ModelSpec = z.output<typeof modelSchema>;

export function modelContainer(model: ModelSpec): { image: string; environment: Record<string, string>; hfTokenSecret?: SecretRef } {
  return {
    image: model.image,
    // What TGI reads (and the local cloud's model server too); user entries may override.
    environment: {
      HF_MODEL_ID: model.hfModelId,
      SM_NUM_GPUS: String(model.numGpus),
      MAX_INPUT_LENGTH: String(model.maxInputTokens),
      MAX_TOTAL_TOKENS: String(model.maxTotalTokens),
      ...model.environment,
    },
    hfTokenSecret: model.hfTokenSecret,
  };
}
