// LOCAL_CLOUD_TIME_SCALE: how much faster than AWS the local cloud's clocks for metrics and
// scaling run. 1 (the default) is AWS timing; 60 makes one metric minute pass in one second,
// so a whole scale-out/scale-in cycle can be watched in about a minute. It compresses metric
// periods, alarm evaluation, cooldowns and scaling-activity timing, nothing else (endpoint
// launches take as long as the model processes take).
import { localCloudConfig } from '../../common/config.js';

/** A real period is never shorter than this: CloudWatch timestamps are read back at second resolution. */
const MIN_REAL_PERIOD_MS = 1000;

export class TimeScale {
  constructor(readonly factor: number) {
    if (!Number.isFinite(factor) || factor < 1) {
      throw new Error(`LOCAL_CLOUD_TIME_SCALE must be a number of at least 1 (1 = AWS timing), not ${factor}`);
    }
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): TimeScale {
    return new TimeScale(localCloudConfig.read(env).LOCAL_CLOUD_TIME_SCALE);
  }

  /** How long an AWS period of `awsSeconds` lasts here, in milliseconds. */
  periodMs(awsSeconds: number): number {
    return Math.max(MIN_REAL_PERIOD_MS, Math.round((awsSeconds * 1000) / this.factor));
  }

  /** An AWS duration (cooldowns) in real milliseconds; unlike periods, may be under a second. */
  durationMs(awsSeconds: number): number {
    return (awsSeconds * 1000) / this.factor;
  }
}
