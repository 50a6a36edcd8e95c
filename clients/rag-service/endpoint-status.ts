// Whether the endpoint a request names is there and InService, from DescribeEndpoint: one
// answer per endpoint shared by concurrent requests and reused for a few seconds, so a burst of
// queries costs one control-plane call (DescribeEndpoint is rate-limited on AWS).
import { DescribeEndpointCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { isNotFound } from '../../activities/aws-errors.js';

export type EndpointState = { status: string } | { missing: true };

export class EndpointStatusCache {
  private readonly entries = new Map<string, { at: number; state: Promise<EndpointState> }>();
  constructor(
    private readonly sagemaker: SageMakerClient,
    private readonly ttlMs: number,
  ) {}

  get(endpointName: string): Promise<EndpointState> {
    const now = performance.now();
    const hit = this.entries.get(endpointName);
    if (hit && now - hit.at < this.ttlMs) return hit.state;
    if (this.entries.size > 1000) for (const [k, v] of this.entries) if (now - v.at >= this.ttlMs) this.entries.delete(k);
    const state = this.sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName })).then(
      (out): EndpointState => ({ status: out.EndpointStatus ?? 'Unknown' }),
      (err: Error): EndpointState => {
        if (isNotFound(err)) return { missing: true };
        // Not an answer about the endpoint: do not cache it.
        this.entries.delete(endpointName);
        throw err;
      },
    );
    this.entries.set(endpointName, { at: now, state });
    return state;
  }
}
