// Builds ragQuery's input schemas and validates the input, as ragQuery's first line does.
import { type RagQueryInput, ragQueryInputSchema } from '../../common/rag-input.js';

export async function ragValidate(input: RagQueryInput): Promise<number> {
  return ragQueryInputSchema.parse(input).topK;
}
