// The workflow bundle's entry point: Temporal registers every workflow exported from here.
export { deployEndpoint } from './deploy-endpoint';
export { teardownEndpoint } from './teardown-endpoint';
export { batchTransform } from './batch-transform';
export { asyncInvoke } from './async-invoke';
export { ingestDocuments } from './ingest-documents';
export { ragQuery } from './rag-query';
export { endpointLease } from './endpoint-lease';
