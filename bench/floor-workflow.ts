// The smallest workflow there is, in a bundle of its own: what one Temporal run costs on this
// machine before any step (start, one workflow task, completion, the result), so the overhead
// bench can show how much of a RAG query's orchestration is Temporal's own floor.
export async function emptyWorkflow(): Promise<void> {}
