// The workflow bundle's entry point: Temporal registers every workflow exported from here.
export { deployEndpoint } from './deploy-endpoint.js';
export { teardownEndpoint } from './teardown-endpoint.js';
export { batchTransform } from './batch-transform.js';
export { batchFanOut } from './batch-fan-out.js';
export { asyncInvoke } from './async-invoke.js';
export { ingestDocuments } from './ingest-documents.js';
export { ragQuery } from './rag-query.js';
export { endpointLease } from './endpoint-lease.js';
