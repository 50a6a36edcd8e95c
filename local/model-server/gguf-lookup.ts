// Finds the GGUF file that stands in for the weights named by HF_MODEL_ID. The pool calls this
// before spawning anything, so a missing model fails the endpoint at once with a reason that
// says where it looked, and the container calls it again to load the same file.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, sep } from 'node:path';

export class ModelNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelNotFoundError';
  }
}

export interface ModelFileQuery {
  /** HF_MODEL_ID: `<org>/<name>` under a models directory, or an absolute path to a .gguf file. */
  modelId: string | undefined;
  /** HF_MODEL_FILE: picks one file when the model directory holds several. */
  modelFile?: string;
  dirs: readonly string[];
}

function ggufFilesIn(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .filter((name) => name.toLowerCase().endsWith('.gguf'))
    .sort();
}

export function resolveModelFile({ modelId, modelFile, dirs }: ModelFileQuery): string {
  if (!modelId) {
    throw new ModelNotFoundError(
      'HF_MODEL_ID is not set in the container environment: the local cloud needs it to find the model (a GGUF file under a models directory); model data from S3 (ModelDataUrl) is not supported.',
    );
  }
  if (isAbsolute(modelId)) {
    if (modelId.toLowerCase().endsWith('.gguf') && existsSync(modelId) && statSync(modelId).isFile()) return modelId;
    throw new ModelNotFoundError(`HF_MODEL_ID=${modelId} is an absolute path but not an existing .gguf file.`);
  }
  // An id is a hub name, never a way out of the models directories.
  if (modelId.split(/[\\/]/).some((part) => part === '..' || part === '')) {
    throw new ModelNotFoundError(`HF_MODEL_ID=${modelId} is not a valid model id (expected <org>/<name>).`);
  }
  const searched: string[] = [];
  for (const dir of dirs) {
    const modelDir = join(dir, modelId);
    searched.push(`${modelDir}${sep}*.gguf`);
    const files = ggufFilesIn(modelDir);
    if (files.length === 0) continue;
    if (modelFile) {
      if (files.includes(modelFile)) return join(modelDir, modelFile);
      throw new ModelNotFoundError(`HF_MODEL_FILE=${modelFile} is not among the GGUF files of HF_MODEL_ID=${modelId} in ${modelDir}: ${files.join(', ')}.`);
    }
    if (files.length === 1) return join(modelDir, files[0]);
    throw new ModelNotFoundError(`HF_MODEL_ID=${modelId} has several GGUF files in ${modelDir} (${files.join(', ')}); set HF_MODEL_FILE to choose one.`);
  }
  const where = searched.length > 0 ? `searched ${searched.join(', ')}` : 'no models directory exists';
  throw new ModelNotFoundError(
    `Could not find model data for HF_MODEL_ID=${modelId}: ${where}. Put a GGUF file there, or add a directory with LLMOPS_MODELS_DIR.`,
  );
}
