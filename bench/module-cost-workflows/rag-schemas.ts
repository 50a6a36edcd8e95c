// Imports ragQuery's input schemas and parses nothing: what building them costs each workflow run.
import { ragQueryInputSchema } from '../../common/rag-input.js';

export async function ragSchemasOnly(): Promise<boolean> {
  return ragQueryInputSchema !== undefined;
}
