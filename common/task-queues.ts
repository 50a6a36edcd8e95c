// Task queue names that the CLI examples, workers and docs all rely on.
/** Slow, rate-limited control-plane work: deploy, update, teardown, batch. */
export const CONTROL_TASK_QUEUE = 'sagemaker-control';
/** Per-request flows: low latency, scaled separately. */
export const RAG_TASK_QUEUE = 'rag';
