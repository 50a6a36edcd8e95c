// In-memory RAG activities for the ragQuery workflow tests (the test file and the worker process
// it kills): each records its name in `calls`; generation is what the test passes. answerQuery
// is the real composition of the fake steps.
import type { RagActivities, RetrievedChunk } from '../../activities/rag.js';
import { answerQueryFrom } from '../../activities/rag-answer.js';

const HIT: RetrievedChunk = { id: 'a', score: 0.9, text: 'Scale with target tracking.', source: 'scaling.md', documentId: 'scaling.md', chunkIndex: 0 };
const built = (query: string, hits: RetrievedChunk[]) => ({
  prompt: `Q: ${query}\n${hits[0].text}`,
  promptTokens: 12,
  contextChunks: 1,
  sources: [{ id: 'a', score: 0.9, source: 'scaling.md', snippet: 'Scale with target tracking.' }],
});

export function fakeRag(calls: string[], generate: RagActivities['generate']): Partial<RagActivities> {
  const steps = {
    embedQuery: async () => (calls.push('embedQuery'), { dense: [1, 0], sparse: { indices: [1], values: [1] } }),
    retrieve: async () => (calls.push('retrieve'), [HIT]),
    buildPrompt: async ({ query, hits }) => (calls.push('buildPrompt'), built(query, hits)),
    // As the real one: the three query steps in one activity, each part timed.
    prepareContext: async ({ query }) => (calls.push('prepareContext'), { ...built(query, [HIT]), timings: { embed: 3, retrieve: 2, buildPrompt: 1 } }),
    generate: async (input) => (calls.push('generate'), generate(input)),
    recordMonitoring: async () => void calls.push('recordMonitoring'),
  } satisfies Partial<RagActivities>;
  // The real composition of the whole query, over these steps.
  const answerQuery = answerQueryFrom(steps);
  return { ...steps, answerQuery: async (input) => (calls.push('answerQuery'), answerQuery(input)) };
}
