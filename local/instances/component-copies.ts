// The serving copies of every inference component, and the choice of one per request: each
// copy is one model process (a one-instance fleet from the pool), and requests are spread
// across a component's copies by its endpoint's RoutingConfig: LEAST_OUTSTANDING_REQUESTS
// (the fewest requests in flight, ties taken in turn) or RANDOM.
import type { Fleet } from './types.js';

export interface ServingCopy {
  copyId: string;
  /** The (bookkeeping) instance the copy was placed on. */
  instanceId: string;
  url: string;
  fleet: Fleet;
  outstanding: number;
}

export type RoutingStrategy = 'LEAST_OUTSTANDING_REQUESTS' | 'RANDOM';

interface ComponentCopies {
  /** The component's name as created (lookups ignore case, metrics use this spelling). */
  name: string;
  endpointName: string;
  variantName: string;
  strategy: RoutingStrategy;
  copies: ServingCopy[];
  next: number;
}

export type CopyChoice =
  | { kind: 'copy'; variantName: string; copy: ServingCopy; done(): void }
  | { kind: 'unknown-component' }
  | { kind: 'no-capacity'; variantName: string; inferenceComponentName: string };

const key = (name: string) => name.toLowerCase();

export class ComponentCopyRouter {
  private readonly components = new Map<string, ComponentCopies>();

  /** Makes a component routable (with no copies yet), or updates where it lives. */
  register(component: string, endpointName: string, variantName: string, strategy: RoutingStrategy): void {
    const existing = this.components.get(key(component));
    if (existing) Object.assign(existing, { endpointName, variantName, strategy });
    else this.components.set(key(component), { name: component, endpointName, variantName, strategy, copies: [], next: 0 });
  }

  copies(component: string): readonly ServingCopy[] {
    return this.components.get(key(component))?.copies ?? [];
  }

  add(component: string, copy: ServingCopy): void {
    this.components.get(key(component))?.copies.push(copy);
  }

  /** Takes a copy out of rotation (the caller stops its process). */
  remove(component: string, copyId: string): ServingCopy | undefined {
    const entry = this.components.get(key(component));
    const index = entry?.copies.findIndex((c) => c.copyId === copyId) ?? -1;
    return index >= 0 ? entry!.copies.splice(index, 1)[0] : undefined;
  }

  /** Forgets a component; returns the copies it still had, for the caller to stop. */
  unregister(component: string): ServingCopy[] {
    const entry = this.components.get(key(component));
    this.components.delete(key(component));
    return entry?.copies ?? [];
  }

  route(endpointName: string, component: string): CopyChoice {
    const entry = this.components.get(key(component));
    if (!entry || key(entry.endpointName) !== key(endpointName)) return { kind: 'unknown-component' };
    const n = entry.copies.length;
    if (n === 0) return { kind: 'no-capacity', variantName: entry.variantName, inferenceComponentName: entry.name };
    let chosen: ServingCopy;
    if (entry.strategy === 'RANDOM') {
      chosen = entry.copies[Math.floor(Math.random() * n)];
    } else {
      // Start the scan where the last choice left off, so equal loads are taken in turn.
      chosen = entry.copies[entry.next % n];
      for (let k = 1; k < n; k++) {
        const candidate = entry.copies[(entry.next + k) % n];
        if (candidate.outstanding < chosen.outstanding) chosen = candidate;
      }
      entry.next = (entry.copies.indexOf(chosen) + 1) % n;
    }
    chosen.outstanding += 1;
    let released = false;
    return {
      kind: 'copy',
      variantName: entry.variantName,
      copy: chosen,
      done: () => {
        if (released) return;
        released = true;
        chosen.outstanding -= 1;
      },
    };
  }
}
