// Dense sentence embeddings: sentence-transformers/all-MiniLM-L6-v2 (384-d, mean pooling, L2
// normalised) run by node-llama-cpp from the GGUF that scripts/prepare-embedding-model.py makes.
// Passages and queries use the same model and no prefix (the model has none). The model loads
// lazily, once per DenseEmbedder; DenseEmbedder.shared() gives one per process.
//
// Every text of every embed() call goes through one FIFO queue that the contexts pull from, so
// concurrent callers (an ingest pipelining documents, queries beside it) keep all contexts busy
// without per-call idle tails, and earlier calls finish first. node-llama-cpp 3.22's embedding
// context reads the pooled vector of sequence 0 only, so one decode holds one text; the
// parallelism is across contexts.
import { getLlama, LlamaLogLevel, type Llama, type LlamaEmbeddingContext, type LlamaModel, type Token } from 'node-llama-cpp';
import { EMBEDDING_DIMENSIONS, EMBEDDING_MODEL_ID, resolveGguf } from './model-files.js';
import { modelsConfig } from '../../common/config.js';

export interface DenseEmbedderOptions {
  /** GGUF file; default: resolved from the models directories by model id. */
  modelPath?: string;
  /**
   * Threads per embedding context (these machines have 2 cores: keep 1 or 2). Default 1, or
   * LLMOPS_EMBED_THREADS.
   */
  threads?: number;
  /**
   * Embedding contexts evaluating queued texts in parallel. Default 2, or
   * LLMOPS_EMBED_CONTEXTS. On 2 cores, 2 contexts x 1 thread embedded batches ~1.4-1.7x faster
   * than 1 context x 2 threads and single short queries as fast (bench/embeddings.ts); a lone
   * long text is faster with 1 x 2.
   */
  contexts?: number;
  /**
   * Longest input in tokens including [CLS] and [SEP]; longer texts are truncated (as
   * sentence-transformers does; it uses 256 for this model). Default and maximum: 511, as the
   * model has 512 positions and node-llama-cpp needs input length < context size.
   */
  maxTokens?: number;
  /** Entries of the query-embedding LRU cache (0 disables it). Default 512. */
  queryCacheSize?: number;
}

export interface EmbedCacheStats {
  hits: number;
  misses: number;
  size: number;
  capacity: number;
}

/** Small LRU on a Map (insertion order = recency). */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  constructor(readonly capacity: number) {}
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }
  set(key: K, value: V): void {
    if (this.capacity <= 0) return;
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }
  get size(): number {
    return this.map.size;
  }
  clear(): void {
    this.map.clear();
  }
}

const MODEL_CONTEXT = 512;

let llamaPromise: Promise<Llama> | undefined;
function sharedLlama(): Promise<Llama> {
  // CPU only; node-llama-cpp's thread budget defaults to the core count and is shared by the
  // contexts evaluating at the same time.
  llamaPromise ??= getLlama({
    gpu: false,
    build: 'never',
    // Warnings at load are expected for an uncased WordPiece model (detokenising "some test text
    // here" gives " some test text here"); errors still show.
    logLevel: LlamaLogLevel.error,
    logger: (level, message) => {
      if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) process.stderr.write(`[embeddings] ${message.trim()}\n`);
    },
  });
  llamaPromise.catch(() => (llamaPromise = undefined));
  return llamaPromise;
}

interface Loaded {
  model: LlamaModel;
  contexts: LlamaEmbeddingContext[];
  /** Contexts not evaluating a text right now. */
  idle: LlamaEmbeddingContext[];
  bos: Token;
  sep: Token;
}

/** One text waiting for a context. */
interface EmbedJob {
  input: Token[];
  resolve: (vector: Float32Array) => void;
  reject: (err: unknown) => void;
}

export class DenseEmbedder {
  readonly modelId = EMBEDDING_MODEL_ID;
  readonly dimensions = EMBEDDING_DIMENSIONS;
  readonly maxTokens: number;
  readonly threads: number;
  readonly contextCount: number;
  private readonly modelPathOption?: string;
  private loading?: Promise<Loaded>;
  private readonly cache: LruCache<string, Float32Array>;
  private readonly queue: EmbedJob[] = [];
  private hits = 0;
  private misses = 0;

  constructor(options: DenseEmbedderOptions = {}) {
    this.modelPathOption = options.modelPath;
    const configured = modelsConfig.read();
    this.threads = options.threads ?? configured.LLMOPS_EMBED_THREADS;
    this.contextCount = options.contexts ?? configured.LLMOPS_EMBED_CONTEXTS;
    this.maxTokens = Math.min(options.maxTokens ?? MODEL_CONTEXT - 1, MODEL_CONTEXT - 1);
    if (!Number.isInteger(this.threads) || this.threads < 1) throw new Error(`threads must be a positive integer, got ${this.threads}`);
    if (!Number.isInteger(this.contextCount) || this.contextCount < 1) throw new Error(`contexts must be a positive integer, got ${this.contextCount}`);
    if (!Number.isInteger(this.maxTokens) || this.maxTokens < 3) throw new Error(`maxTokens must be an integer >= 3, got ${this.maxTokens}`);
    this.cache = new LruCache(options.queryCacheSize ?? 512);
  }

  private static instance?: DenseEmbedder;
  /** One embedder per process (activities of a worker share it). Options apply on first call. */
  static shared(options?: DenseEmbedderOptions): DenseEmbedder {
    DenseEmbedder.instance ??= new DenseEmbedder(options);
    return DenseEmbedder.instance;
  }

  /** The GGUF this embedder uses (throws with a setup hint when it is missing). */
  get modelPath(): string {
    return this.modelPathOption ?? resolveGguf(this.modelId);
  }

  /** Loads the model and contexts; later calls return the same promise. */
  load(): Promise<Loaded> {
    if (!this.loading) {
      this.loading = this.doLoad();
      this.loading.catch(() => (this.loading = undefined)); // a failed load can be retried
    }
    return this.loading;
  }

  private async doLoad(): Promise<Loaded> {
    const modelPath = this.modelPath;
    const llama = await sharedLlama();
    const model = await llama.loadModel({ modelPath });
    try {
      if (model.embeddingVectorSize !== this.dimensions) {
        throw new Error(`${modelPath} gives ${model.embeddingVectorSize}-d embeddings, expected ${this.dimensions}`);
      }
      const { bos, sep } = model.tokens;
      if (bos === null || sep === null) throw new Error(`${modelPath} has no [CLS]/[SEP] tokens`);
      const contexts: LlamaEmbeddingContext[] = [];
      for (let i = 0; i < this.contextCount; i++) {
        contexts.push(await model.createEmbeddingContext({ contextSize: MODEL_CONTEXT, batchSize: MODEL_CONTEXT, threads: this.threads }));
      }
      return { model, contexts, idle: [...contexts], bos, sep };
    } catch (err) {
      await model.dispose();
      throw err;
    }
  }

  /** Token ids the model sees for a text: [CLS] tokens [SEP], truncated to maxTokens. */
  async tokenize(text: string): Promise<Token[]> {
    const { model, bos, sep } = await this.load();
    return this.inputTokens(model, bos, sep, text);
  }

  private inputTokens(model: LlamaModel, bos: Token, sep: Token, text: string): Token[] {
    const content = model.tokenize(text, false).slice(0, this.maxTokens - 2);
    // Always pass [CLS] ... [SEP] explicitly: node-llama-cpp returns an empty vector for empty
    // input, while sentence-transformers embeds "[CLS] [SEP]".
    return [bos, ...content, sep];
  }

  /** L2-normalised 384-d embeddings of passages (or queries), in input order. */
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const loaded = await this.load();
    const { model, bos, sep } = loaded;
    const inputs = texts.map((t) => {
      if (typeof t !== 'string') throw new TypeError('embed() takes strings');
      return this.inputTokens(model, bos, sep, t);
    });
    const out = Promise.all(inputs.map((input) => new Promise<Float32Array>((resolve, reject) => this.queue.push({ input, resolve, reject }))));
    this.dispatch(loaded);
    return out;
  }

  /** Hands queued texts to idle contexts, in queue order; each context takes the next when done. */
  private dispatch(loaded: Loaded): void {
    while (loaded.idle.length > 0 && this.queue.length > 0) {
      const context = loaded.idle.pop()!;
      const job = this.queue.shift()!;
      context
        .getEmbeddingFor(job.input)
        .then((e) => normalize(e.vector))
        .then(job.resolve, job.reject)
        .finally(() => {
          if (context.disposed) return;
          loaded.idle.push(context);
          this.dispatch(loaded);
        });
    }
  }

  /**
   * Embedding of a query, from an LRU cache when the same query (same tokens: the model is
   * uncased and ignores extra whitespace) was embedded before. Returns a copy the caller may keep.
   */
  async embedQuery(text: string): Promise<Float32Array> {
    const { model, bos, sep } = await this.load();
    const key = this.inputTokens(model, bos, sep, text).join(',');
    const cached = this.cache.get(key);
    if (cached) {
      this.hits++;
      return cached.slice();
    }
    this.misses++;
    const [vector] = await this.embed([text]);
    this.cache.set(key, vector.slice());
    return vector;
  }

  cacheStats(): EmbedCacheStats {
    return { hits: this.hits, misses: this.misses, size: this.cache.size, capacity: this.cache.capacity };
  }

  clearCache(): void {
    this.cache.clear();
    this.hits = 0;
    this.misses = 0;
  }

  async dispose(): Promise<void> {
    const loading = this.loading;
    this.loading = undefined;
    if (!loading) return;
    const loaded = await loading.catch(() => undefined);
    if (!loaded) return;
    for (const job of this.queue.splice(0)) job.reject(new Error('DenseEmbedder was disposed before this text was embedded'));
    for (const c of loaded.contexts) await c.dispose();
    await loaded.model.dispose();
    if (DenseEmbedder.instance === this) DenseEmbedder.instance = undefined;
  }
}

function normalize(vector: readonly number[]): Float32Array {
  let sum = 0;
  for (const x of vector) sum += x * x;
  const norm = Math.sqrt(sum);
  if (!(norm > 0)) throw new Error('embedding has zero norm');
  const out = new Float32Array(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = vector[i] / norm;
  return out;
}

/** Cosine similarity; for L2-normalised vectors this is the dot product. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosine of vectors of different lengths (${a.length}, ${b.length})`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}
