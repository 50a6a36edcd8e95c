// In-memory RAG activities for the ragQuery workflow tests (the test file and the worker process
// it kills): each records its name in `calls`; generation is what the test passes.
import type { RagActivities } from '../../activities/rag.js';

export function fakeRag(calls: string[], generate: RagActivities['generate']): Partial<RagActivities> {
  return {
    embedQuery: async () => (calls.push('embedQuery'), { dense: [1, 0], sparse: { indices: [1], values: [1] } }),
    retrieve: async () => (
      calls.push('retrieve'), [{ id: 'a', score: 0.9, text: 'Scale with target tracking.', source: 'scaling.md', documentId: 'scaling.md', chunkIndex: 0 }]
    ),
    buildPrompt: async ({ query, hits }) => (
      calls.push('buildPrompt'),
      {
        prompt: `Q: ${query}\n${hits[0].text}`,
        promptTokens: 12,
        contextChunks: 1,
        sources: [{ id: 'a', score: 0.9, source: 'scaling.md', snippet: 'Scale with target tracking.' }],
      }
    ),
    generate: async (input) => (calls.push('generate'), generate(input)),
    recordMonitoring: async () => void calls.push('recordMonitoring'),
  };
}
