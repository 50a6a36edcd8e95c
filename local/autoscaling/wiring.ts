// How the local cloud assembles its Application Auto Scaling: state in the state dir, alarms
// written through the local cloud's own URL (journalled by moto.ts, so they survive a restart),
// metric reads and alarm states straight from moto, capacity changes through our SageMaker API.
import { join } from 'node:path';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { Logger } from 'pino';
import type { TimeScale } from '../metrics/time-scale.js';
import { localCloudWatchClient } from '../metrics/wiring.js';
import type { SageMakerStore } from '../sagemaker/store.js';
import { sageMakerCapacity } from './capacity.js';
import { ScalingEvaluator } from './evaluator.js';
import type { AutoScalingContext } from './operations.js';
import type { SageMakerResource } from './scalable-resources.js';
import { AutoScalingStore } from './store.js';
import { TargetTrackingAlarms } from './target-tracking-alarms.js';

export interface LocalAutoScaling {
  context(region: string): AutoScalingContext;
  evaluator: ScalingEvaluator;
  /** Call once the local cloud listens: its own URL is where capacity changes and alarms go. */
  listening(url: string): void;
  close(): Promise<void>;
}

/** Whether a scalable target's resource exists: the variant, or the inference component, in the store. */
function resourceExistsIn(store: SageMakerStore): (resource: SageMakerResource) => boolean {
  return (resource) => {
    if (resource.kind === 'inference-component') {
      return store.inferenceComponents.get(resource.inferenceComponentName) !== undefined;
    }
    const endpoint = store.endpoints.get(resource.endpointName);
    const variants = endpoint?.deployed?.variants ?? endpoint?.pending?.variants ?? [];
    return variants.some((v) => v.variantName === resource.variantName);
  };
}

export function createLocalAutoScaling(opts: {
  stateDir: string;
  store: SageMakerStore;
  motoCloudWatch: CloudWatchClient;
  timeScale: TimeScale;
  log: Logger;
}): LocalAutoScaling {
  const store = AutoScalingStore.open(join(opts.stateDir, 'autoscaling.json'));
  let own: { cloudWatch: CloudWatchClient; sageMaker: SageMakerClient } | undefined;
  const reachable = () => {
    if (!own) throw new Error('Application Auto Scaling cannot reach the local cloud before it listens');
    return own;
  };
  const evaluator = new ScalingEvaluator({
    store,
    cloudWatch: () => opts.motoCloudWatch,
    capacity: sageMakerCapacity(() => reachable().sageMaker),
    timeScale: opts.timeScale,
    log: opts.log.child({ component: 'scaling-evaluator' }),
  });
  const alarmsByRegion = new Map<string, TargetTrackingAlarms>();
  return {
    evaluator,
    context(region) {
      let alarms = alarmsByRegion.get(region);
      if (!alarms) alarmsByRegion.set(region, (alarms = new TargetTrackingAlarms(() => reachable().cloudWatch, region)));
      return { store, region, alarms, resourceExists: resourceExistsIn(opts.store), log: opts.log };
    },
    listening(url) {
      own = {
        cloudWatch: localCloudWatchClient(url),
        sageMaker: new SageMakerClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
      };
      evaluator.start();
    },
    async close() {
      await evaluator.close();
      own?.cloudWatch.destroy();
      own?.sageMaker.destroy();
      store.close();
    },
  };
}
