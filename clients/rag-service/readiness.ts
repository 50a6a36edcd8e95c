// GET /readyz: whether the service can answer a query now, for a load balancer or an orchestrator.
// Ready means Temporal answers a cheap call (GetSystemInfo, bounded by a deadline) and every
// endpoint a request without endpointName would use (the first endpoint of each API key's grant)
// is InService, read through the same status cache admission uses, so probes add at most one
// DescribeEndpoint per endpoint per cache period. /healthz stays the liveness probe (process up).
import type { Client } from '@temporalio/client';
import type { EndpointStatusCache } from './endpoint-status.js';
import { errorMessage } from './http.js';

export interface ReadinessReport {
  ready: boolean;
  checks: { temporal: string; endpoints: Record<string, string> };
  /** One line per check that failed; empty when ready. */
  reasons: string[];
}

export interface ReadinessDeps {
  client: Client;
  endpointStatus: EndpointStatusCache;
  endpoints: string[];
  /** How long the Temporal check may take (default 2 s). */
  timeoutMs?: number;
}

export function createReadiness(deps: ReadinessDeps): () => Promise<ReadinessReport> {
  const endpoints = [...new Set(deps.endpoints)];
  const timeoutMs = deps.timeoutMs ?? 2000;
  return async () => {
    const reasons: string[] = [];
    const temporal = deps.client.connection
      .withDeadline(Date.now() + timeoutMs, () => deps.client.workflowService.getSystemInfo({}))
      .then(
        () => 'ok',
        (err: unknown) => {
          reasons.push(`temporal: unreachable (${errorMessage(err)})`);
          return 'unreachable';
        },
      );
    const states = endpoints.map(async (name): Promise<[string, string]> => {
      try {
        const state = await deps.endpointStatus.get(name);
        const status = 'missing' in state ? 'missing' : state.status;
        if (status !== 'InService') reasons.push(`endpoint ${name}: ${status === 'missing' ? 'does not exist' : `is ${status}, not InService`}`);
        return [name, status];
      } catch (err) {
        reasons.push(`endpoint ${name}: status unavailable (${errorMessage(err)})`);
        return [name, 'unknown'];
      }
    });
    const checks = { temporal: await temporal, endpoints: Object.fromEntries(await Promise.all(states)) };
    return { ready: reasons.length === 0, checks, reasons };
  };
}
