// The Qdrant server of this test run, as the global setup found or started it, with one
// message for every suite that uses it: which server, or how to get one when it is missing.
import { inject } from 'vitest';
import { QDRANT_HOW_TO } from '../../dev/qdrant-server.js';

export interface QdrantUnderTest {
  url: string;
  how: string;
}

/** The run's Qdrant (logging which one), or undefined (logging what `without` means and how to run it). */
export function qdrantUnderTest(suite: string, without: string): QdrantUnderTest | undefined {
  const server = inject('qdrant') ?? undefined;
  if (server) console.info(`${suite}: Qdrant ${server.how}`);
  else console.warn(`${suite}: no Qdrant server, ${without}. To run it against Qdrant, ${QDRANT_HOW_TO}.`);
  return server;
}
