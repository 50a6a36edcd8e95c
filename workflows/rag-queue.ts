// The rag worker's own workflow bundle: only the workflows of the `rag` task queue. With
// reuseV8Context the SDK swaps every per-workflow binding of the bundle in and out of the shared
// context on each workflow task, so a per-request workflow pays for every module the bundle holds;
// this bundle leaves out the deploy, rollout and batch runbooks (and their schemas), which cut the
// per-query orchestration cost (bench/overhead.ts). workflows/index.ts stays the full bundle.
export { ingestDocuments } from './ingest-documents.js';
export { ragQuery } from './rag-query.js';
