// Vitest global setup: one Qdrant server for the whole run (see dev/qdrant-server.ts for
// where it comes from), handed to the suites that use it through inject('qdrant'), and
// stopped by pid with its storage removed when the run ends, whether tests passed or not.
// Starting the binary takes a fraction of a second, so it happens for every run that has one.
import type { TestProject } from 'vitest/node';
import { findOrStartQdrant } from '../../dev/qdrant-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Qdrant server of this run, or null when there is none (its suites skip). */
    qdrant: { url: string; how: string } | null;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await findOrStartQdrant();
  project.provide('qdrant', server ? { url: server.url, how: server.how } : null);
  return async () => {
    await server?.stop();
  };
}
