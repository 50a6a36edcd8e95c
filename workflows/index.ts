// The workflow bundle's entry point: Temporal registers every workflow exported from here.
export { deployEndpoint } from './deploy-endpoint';
export { teardownEndpoint } from './teardown-endpoint';
