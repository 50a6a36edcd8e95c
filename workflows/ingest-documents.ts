// ingestDocuments: fills a collection from a directory or an S3 prefix. Files are listed once
// and ingested in batches, each batch one activity (read, clean, chunk, embed, upsert, delete
// stale chunks). Point ids come from (document, chunk, hash of text and chunking), so
// re-ingesting changes nothing, an edited or re-chunked document replaces its chunks, and a
// retried batch converges. The `progress` query counts documents, chunks, upserted, removed, failed.
import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import { validateInput } from '../common/input-parsing.js';
import type { IngestDocumentsInput } from '../common/rag-input.js';
import type { IngestBatchResult } from '../activities/rag.js';
import { ingestActivities } from './activity-proxies.js';
import { reasonOf } from './failures.js';
import { progressQuery, ProgressTracker } from './progress.js';

const ingest = ingestActivities();

export interface IngestDocumentsResult {
  collection: string;
  files: number;
  documents: number;
  chunks: number;
  upserted: number;
  unchanged: number;
  removed: number;
  failed: IngestBatchResult['failed'];
  timings: Record<string, number>;
}

export async function ingestDocuments(rawInput: IngestDocumentsInput): Promise<IngestDocumentsResult> {
  // Imported here, not at the top: this module shares the rag worker's bundle with ragQuery, and
  // every run evaluates the modules its bundle's entry imports (about 12 ms for these schemas).
  const { ingestDocumentsInputSchema } = await import(/* webpackMode: "eager" */ '../common/rag-input.js');
  const spec = validateInput(ingestDocumentsInputSchema, 'ingestDocuments', rawInput);
  const progress = new ProgressTracker('ingestDocuments', spec.collection);
  const totals: IngestDocumentsResult = {
    collection: spec.collection,
    files: 0,
    documents: 0,
    chunks: 0,
    upserted: 0,
    unchanged: 0,
    removed: 0,
    failed: [],
    timings: {},
  };
  // The generic progress plus the ingest counters.
  setHandler(progressQuery, () => ({ ...progress.snapshot(), counts: { ...totals, failed: totals.failed.length } }) as never);
  try {
    await progress.step('ensureCollection', () => ingest.ensureCollection({ collection: spec.collection }));
    const files = await progress.step(
      'listFiles',
      () => ingest.listDocumentFiles({ source: spec.source }),
      (f) => `${f.length} files`,
    );
    if (!files.length) throw ApplicationFailure.nonRetryable('source: no .md, .txt or .jsonl files found', 'InvalidSource');
    totals.files = files.length;
    for (let i = 0; i < files.length; i += spec.documentsPerBatch) {
      const batch = files.slice(i, i + spec.documentsPerBatch);
      const r = await progress.step(`ingest ${i + 1}-${i + batch.length}`, () =>
        ingest.ingestFiles({
          collection: spec.collection,
          source: spec.source,
          files: batch,
          chunkTokens: spec.chunkTokens,
          overlapTokens: spec.overlapTokens,
        }),
      );
      totals.documents += r.documents;
      totals.chunks += r.chunks;
      totals.upserted += r.upserted;
      totals.unchanged += r.unchanged;
      totals.removed += r.removed;
      totals.failed.push(...r.failed);
    }
    progress.finish('succeeded');
    return { ...totals, timings: progress.timings() };
  } catch (err) {
    progress.finish('failed', reasonOf(err));
    throw ApplicationFailure.create({
      message: `Ingest into ${spec.collection} failed at step ${progress.snapshot().step}: ${reasonOf(err)}`,
      type: 'IngestFailed',
      nonRetryable: true,
    });
  }
}
