// Where this checkout's files are: the project root, and the directories model files are
// looked up in. Used by production code (the embedding model, the local cloud's model
// servers, the monitoring file) as well as by the development tooling in dev/.
import { existsSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelsConfig } from './config.js';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Directories searched for model files named by HF_MODEL_ID (`<dir>/<org>/<name>/*.gguf`).
 * LLMOPS_MODELS_DIR (path-list) first, then ./models (what `npm run setup` installs from
 * packages: the embedding model, Gemma 3 270M), then ./assets/models (the tiny test model, in the
 * repository). Nothing outside the checkout is searched: a fresh clone must run on its own.
 */
export function modelsDirs(): string[] {
  const dirs = (modelsConfig.read().LLMOPS_MODELS_DIR ?? '').split(delimiter).filter(Boolean);
  dirs.push(join(projectRoot, 'models'), join(projectRoot, 'assets', 'models'));
  return [...new Set(dirs.map((d) => resolve(d)))].filter((d) => existsSync(d));
}
