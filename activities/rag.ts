// RAG activities: ingest (read → clean → chunk → embed dense + sparse → upsert, then delete a
// document's stale chunks) and the per-query steps (embed the query, retrieve, build
// the prompt within a token budget, generate through the endpoint, record monitoring).
import type { S3Client } from '@aws-sdk/client-s3';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { asyncLocalStorage, heartbeat } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import type { Generation, PromptStyle, RagQueryInput } from '../common/rag-input.js';
import type { RagSource } from '../common/rag-result.js';
import { isChatFormat } from '../common/container-format.js';
import { type ChatMessage, type ContainerFormat, type GenerationPrompt, ragGenerationParameters } from './generation.js';
import { chunkText, cleanText } from './embeddings/chunker.js';
import type { DenseEmbedder } from './embeddings/dense.js';
import { EMBEDDING_DIMENSIONS } from './embeddings/model-files.js';
import { sparseDocumentVector, sparseQueryVector } from './embeddings/sparse.js';
import { WordPieceTokenizer } from './embeddings/tokenizer.js';
import { listSourceFiles, readDocuments, type SourceSpec } from './documents.js';
import { appendMonitoringRecord, type MonitoringRecord } from './monitoring.js';
import { answerQueryFrom } from './rag-answer.js';
import { createRuntimeActivities } from './runtime.js';
import type { Filter, PointInput, ScoredPoint, SearchMode, SparseVector, VectorStore } from './vector-store/types.js';

export interface RagDeps {
  s3: S3Client;
  runtime: SageMakerRuntimeClient;
  embedder: DenseEmbedder;
  /** Opened once per worker, on first use. */
  store: () => Promise<VectorStore>;
  monitoringFile?: string;
}

export interface IngestBatchResult {
  documents: number;
  chunks: number;
  upserted: number;
  unchanged: number;
  /** Stale points deleted: chunks of an earlier version or an earlier chunking of a document. */
  removed: number;
  failed: Array<{ file: string; reason: string }>;
}

export interface RetrievedChunk {
  id: string;
  score: number;
  text: string;
  source: string;
  title?: string;
  documentId: string;
  chunkIndex: number;
}

/** The prompt wordings (common/rag-input.ts promptStyleSchema says when to use which). */
export const PROMPT_TEMPLATES: Record<PromptStyle, (query: string, context: string) => string> = {
  // The reference design's prompt: the context is the primary source, the query the task.
  instruct: (query, context) =>
    `You are a content creator. Write what the user asked you to while using the provided context as the primary source of information for the content.
User query: ${query}
Context: ${context}
`,
  // For a completion model: asking again after the context keeps the answer on the question
  // (bench/answer-model.ts compares wordings on Gemma 3 270M).
  base: (query, context) => `Question: ${query}\n\nContext: ${context}\n\nQuestion: ${query}\nAnswer:`,
};

/**
 * The prompt for the chat formats (the container applies the model's chat template): the rules
 * as the system message, so the model keeps them apart from the material, and the context with
 * the question as the user's. The completion formats keep PROMPT_TEMPLATES.
 */
export const RAG_SYSTEM_MESSAGE =
  'Answer the question using only the context the user gives. If the context does not contain the answer, say that it is not in the context instead of guessing.';
export const chatRagPrompt = (query: string, context: string): ChatMessage[] => [
  { role: 'system', content: RAG_SYSTEM_MESSAGE },
  { role: 'user', content: `Context:\n${context}\n\nQuestion: ${query}` },
];

/** A UUID derived from a string: the same chunk of the same content always gets the same id. */
export function stableUuid(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * What a document's points are stored under: its cleaned text and the chunking parameters, so
 * re-chunking with other parameters replaces the points as an edit does.
 */
function chunkingHash(text: string, chunkTokens: number, overlapTokens: number): string {
  return createHash('sha256').update(`${chunkTokens}\u0000${overlapTokens}\u0000${text}`).digest('hex').slice(0, 16);
}

/**
 * Documents of an ingest batch in the embedder at once (queued or running). Three keep its
 * contexts fed while the next document is read and checked and finished ones are written.
 */
const INGEST_PIPELINE_DEPTH = 3;

/**
 * Points written to the store per upsert at most. Each upsert costs the store a commit (LanceDB:
 * a new version and fragment, which every later count and search reads), tens of ms on these
 * machines, so the points of several documents go together (bench/ingest.ts).
 */
const UPSERT_BATCH_POINTS = 64;

/**
 * Upserts that several documents share: add() resolves once the call that wrote its points has
 * returned. A call goes out when UPSERT_BATCH_POINTS are waiting, or on flush().
 */
function batchedUpserts(store: VectorStore, collection: string) {
  let pending: Array<{ points: PointInput[]; written: { resolve(): void; reject(err: unknown): void } }> = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    try {
      await store.upsert(
        collection,
        batch.flatMap((p) => p.points),
      );
      for (const p of batch) p.written.resolve();
    } catch (err) {
      for (const p of batch) p.written.reject(err);
    }
  };
  return {
    flush,
    add(batchPoints: PointInput[], opts: { flushNow: boolean }): Promise<void> {
      const written = new Promise<void>((resolve, reject) => pending.push({ points: batchPoints, written: { resolve, reject } }));
      const waiting = pending.reduce((n, p) => n + p.points.length, 0);
      if (opts.flushNow || waiting >= UPSERT_BATCH_POINTS) void flush();
      return written;
    },
  };
}

export function createRagActivities(deps: RagDeps) {
  const { invokeEndpoint } = createRuntimeActivities({ runtime: deps.runtime });
  const tokenizer = () => WordPieceTokenizer.forEmbeddingModel();

  const activities = {
    async ensureCollection({ collection }: { collection: string }): Promise<void> {
      await (await deps.store()).ensureCollection({ name: collection, denseDimensions: EMBEDDING_DIMENSIONS, distance: 'Cosine' });
    },

    listDocumentFiles: ({ source }: { source: SourceSpec }) => listSourceFiles(deps.s3, source),

    /**
     * Ingests the documents of `files` so that each document's points end up exactly its
     * current chunks. Every point of a document carries `contentHash`, the hash of its cleaned
     * text and of the chunking that cut it, and point ids derive from (document, chunk index,
     * that hash). A document is unchanged only when all its points have the current hash and
     * there are as many as it has chunks; otherwise missing chunks are upserted and then every
     * point of the document with another hash is deleted. Each step is idempotent and the
     * check looks at the whole document, so a retry after a crash or a failed delete (or a run
     * with other chunking parameters) finishes the job instead of seeing "unchanged". A file
     * that cannot be read or parsed is reported in `failed`, not thrown, so one bad file does
     * not stop the corpus.
     */
    async ingestFiles(input: {
      collection: string;
      source: SourceSpec;
      files: string[];
      chunkTokens: number;
      overlapTokens: number;
    }): Promise<IngestBatchResult> {
      const store = await deps.store();
      const result: IngestBatchResult = { documents: 0, chunks: 0, upserted: 0, unchanged: 0, removed: 0, failed: [] };
      // Documents overlap: while the embedder works through one document's chunks, the next
      // ones are read, chunked and checked, and finished ones are written, several to an upsert.
      // The embedder serves calls in order, so documents finish in order; at most
      // INGEST_PIPELINE_DEPTH are in the embedder. A document's stale points are deleted only
      // once the upsert holding its current ones has returned.
      const inFlight = new Map<string, Promise<void>>();
      const embedding = new Set<Promise<unknown>>();
      const writer = batchedUpserts(store, input.collection);
      let failure: { error: unknown } | undefined;
      const start = (documentId: string, work: () => Promise<void>) => {
        const done = work()
          .catch((error: unknown) => void (failure ??= { error }))
          .finally(() => inFlight.delete(documentId));
        inFlight.set(documentId, done);
      };
      try {
        for (const file of input.files) {
          if (failure) break;
          let docs;
          try {
            docs = await readDocuments(deps.s3, input.source, [file]);
          } catch (err) {
            result.failed.push({ file, reason: (err as Error).message });
            continue;
          }
          for (const doc of docs) {
            if (failure) break;
            // Called directly too (tests, benches), where there is no activity to heartbeat.
            if (asyncLocalStorage.getStore()) heartbeat({ file, documentId: doc.id });
            // A document's counts must see its own earlier writes.
            if (inFlight.has(doc.id)) {
              await writer.flush();
              await inFlight.get(doc.id);
            }
            result.documents++;
            const text = cleanText(doc.text);
            const contentHash = chunkingHash(text, input.chunkTokens, input.overlapTokens);
            const chunks = chunkText(text, { chunkSize: input.chunkTokens, overlap: input.overlapTokens });
            result.chunks += chunks.length;
            const sameDoc: Filter = { must: [{ key: 'documentId', match: { value: doc.id } }] };
            const stored = await store.count(input.collection, sameDoc);
            const current =
              stored && (await store.count(input.collection, { must: [...sameDoc.must!, { key: 'contentHash', match: { value: contentHash } }] }));
            if (stored === chunks.length && current === chunks.length) {
              result.unchanged++;
              continue;
            }
            while (embedding.size >= INGEST_PIPELINE_DEPTH) await Promise.race(embedding);
            // Embedding starts now, in this document's turn in the embedder's queue.
            const dense = current !== chunks.length ? deps.embedder.embed(chunks.map((c) => c.text)) : undefined;
            // Leaves the set when the embedding settles (a failed one too); a finished document
            // also leaves it itself first, so it can tell whether it was the last one in there.
            const queued = dense?.catch(() => {}).finally(() => embedding.delete(queued!));
            if (queued) embedding.add(queued);
            start(doc.id, async () => {
              if (dense) {
                const vectors = await dense;
                embedding.delete(queued!);
                // With no other document in the embedder, write now rather than wait for more points.
                await writer.add(
                  chunks.map((c, i) => ({
                    id: stableUuid(`${doc.id}\u0000${c.index}\u0000${contentHash}`),
                    dense: vectors[i],
                    sparse: sparseDocumentVector(c.text),
                    payload: {
                      ...doc.metadata,
                      documentId: doc.id,
                      chunkIndex: c.index,
                      contentHash,
                      text: c.text,
                      source: doc.source,
                      ...(doc.title ? { title: doc.title } : {}),
                      ...(doc.author ? { author: doc.author } : {}),
                      ...(doc.url ? { url: doc.url } : {}),
                    },
                  })),
                  { flushNow: embedding.size === 0 },
                );
                result.upserted += chunks.length;
              }
              // Stale points: an earlier version's chunks, or an earlier chunking's. Only after the
              // current chunks are all stored, so the document is never missing from search.
              if (stored > current) {
                await store.deleteByFilter(input.collection, { ...sameDoc, mustNot: [{ key: 'contentHash', match: { value: contentHash } }] });
                result.removed += stored - current;
              }
            });
          }
        }
      } finally {
        // However the loop ended (a failed store call too), every document in flight settles
        // before this attempt returns, so a retry never runs beside its writes.
        await Promise.all([...embedding]);
        await writer.flush();
        await Promise.all(inFlight.values());
      }
      if (failure) throw failure.error;
      return result;
    },

    async embedQuery({ query }: { query: string }): Promise<{ dense: number[]; sparse: SparseVector }> {
      // Float32Array does not survive Temporal's JSON payloads; plain numbers do.
      return { dense: Array.from(await deps.embedder.embedQuery(query)), sparse: sparseQueryVector(query) };
    },

    async retrieve(input: {
      collection: string;
      dense: number[];
      sparse: SparseVector;
      mode: SearchMode;
      topK: number;
      filter?: Record<string, string | number | boolean>;
    }): Promise<RetrievedChunk[]> {
      const filter: Filter | undefined = input.filter && { must: Object.entries(input.filter).map(([key, value]) => ({ key, match: { value } })) };
      const hits = await (await deps.store()).search(input.collection, {
        mode: input.mode,
        dense: input.dense,
        sparse: input.sparse,
        limit: input.topK,
        filter,
      });
      return hits.map(toChunk);
    },

    /** Fills the context with the best chunks that fit the token budget; the last may be cut. */
    async buildPrompt({
      query,
      hits,
      contextTokens,
      promptStyle = 'instruct',
      format = 'tgi',
    }: {
      query: string;
      hits: RetrievedChunk[];
      contextTokens: number;
      promptStyle?: PromptStyle;
      /** A chat format gets system + user messages (chatRagPrompt); the others a string (promptStyle). */
      format?: ContainerFormat;
    }) {
      const tok = tokenizer();
      const parts: string[] = [];
      const used: RetrievedChunk[] = [];
      let budget = contextTokens;
      for (const hit of hits) {
        if (budget <= 8) break;
        // A base model copies numbered headers into its answer; it gets the passages as prose.
        const header = promptStyle === 'base' ? '' : `[${used.length + 1}] ${hit.title ?? hit.source}: `;
        let text = promptStyle === 'base' ? hit.text.replace(/\s+/g, ' ').trim() : hit.text;
        const cost = tok.count(header + text);
        if (cost > budget) {
          const tokens = tok.analyze(text).tokens;
          const keep = Math.max(0, budget - tok.count(header) - 1);
          if (keep < 8) break;
          text = `${text.slice(0, tokens[keep - 1]?.end ?? 0)}…`;
        }
        parts.push(header + text);
        used.push(hit);
        budget -= tok.count(header + text);
      }
      const context = parts.join('\n');
      const prompt: GenerationPrompt = isChatFormat(format) ? chatRagPrompt(query, context) : PROMPT_TEMPLATES[promptStyle](query, context);
      const promptTokens = typeof prompt === 'string' ? tok.count(prompt) : prompt.reduce((n, m) => n + tok.count(m.content), 0);
      const sources: RagSource[] = used.map((h) => ({ id: h.id, score: h.score, source: h.source, title: h.title, snippet: h.text.slice(0, 200) }));
      return { prompt, promptTokens, contextChunks: used.length, sources };
    },

    async generate({
      endpointName,
      inferenceComponentName,
      prompt,
      format,
      generation,
    }: {
      endpointName: string;
      /** On an inference-component endpoint: the component that generates. */
      inferenceComponentName?: string;
      prompt: GenerationPrompt;
      format: ContainerFormat;
      generation: Generation;
    }) {
      // As an ordinary activity, heartbeat while the endpoint generates: if this worker dies,
      // Temporal notices within the heartbeat timeout and retries on another worker, instead of
      // waiting out the whole attempt. A local activity has no heartbeat: its workflow task's
      // timeout plays that part (workflows/activity-proxies.ts).
      const beat = asyncLocalStorage.getStore()?.info.isLocal === false ? setInterval(() => heartbeat(), 1000) : undefined;
      let out;
      try {
        out = await invokeEndpoint({ endpointName, inferenceComponentName, inputs: prompt, parameters: ragGenerationParameters(generation), format });
      } finally {
        clearInterval(beat);
      }
      return { answer: out.generatedText, latencyMs: out.latencyMs, completionTokens: tokenizer().count(out.generatedText) };
    },

    recordMonitoring: (record: MonitoringRecord) => appendMonitoringRecord(record, deps.monitoringFile),

    /**
     * embedQuery → retrieve → buildPrompt as one step, with each part's duration: what ragQuery
     * runs since the 'rag-prepare-one-step'. Each local activity costs a round trip through the
     * SDK's core and the workflow sandbox (several ms here, bench/overhead.ts); these three only
     * read and take milliseconds, so a retry redoing all three costs less than recording each. The
     * query vectors no longer enter history either.
     */
    async prepareContext(input: {
      query: string;
      collection: string;
      mode: SearchMode;
      topK: number;
      filter?: Record<string, string | number | boolean>;
      contextTokens: number;
      promptStyle?: PromptStyle;
      format?: ContainerFormat;
    }) {
      const timings: { embed: number; retrieve: number; buildPrompt: number } = { embed: 0, retrieve: 0, buildPrompt: 0 };
      const timed = async <T>(step: keyof typeof timings, run: () => Promise<T>): Promise<T> => {
        const started = performance.now();
        try {
          return await run();
        } finally {
          timings[step] = Math.round(performance.now() - started);
        }
      };
      const { query, collection, mode, topK, filter, contextTokens, promptStyle, format } = input;
      const vectors = await timed('embed', () => activities.embedQuery({ query }));
      const hits = await timed('retrieve', () => activities.retrieve({ collection, dense: vectors.dense, sparse: vectors.sparse, mode, topK, filter }));
      const built = await timed('buildPrompt', () => activities.buildPrompt({ query, hits, contextTokens, promptStyle, format }));
      return { ...built, timings };
    },

    answerQuery: (input: RagQueryInput) => answerQueryFrom(activities)(input),
  };
  return activities;
}

function toChunk(p: ScoredPoint): RetrievedChunk {
  const s = (k: string) => (typeof p.payload[k] === 'string' ? (p.payload[k] as string) : undefined);
  return {
    id: p.id,
    score: p.score,
    text: s('text') ?? '',
    source: s('source') ?? '',
    title: s('title'),
    documentId: s('documentId') ?? '',
    chunkIndex: typeof p.payload.chunkIndex === 'number' ? p.payload.chunkIndex : 0,
  };
}

export type RagActivities = ReturnType<typeof createRagActivities>;
