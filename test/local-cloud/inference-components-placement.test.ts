// Placement of inference-component copies onto instances by their compute resource
// requirements, with and without managed instance scaling (local/sagemaker/ic-placement.ts),
// and the batch size of a rolling update.
import { describe, expect, it } from 'vitest';
import { INSTANCE_TYPES, exceedsInstance } from '../../common/instance-types.js';
import { rollingBatchSize } from '../../local/sagemaker/inference-component-lifecycle.js';
import { newCapacity, placeCopy, releaseCopy, removeEmptyInstances } from '../../local/sagemaker/ic-placement.js';

const copy = (copyId: string, cpus: number, memoryMiB = 1024, acceleratorDevices = 0) => ({
  copyId,
  component: 'c',
  requirements: { cpus, memoryMiB, acceleratorDevices },
});

describe('instance types', () => {
  it('has AWS published sizes for the families deploys use', () => {
    expect(INSTANCE_TYPES['ml.g5.12xlarge']).toEqual({ vCpus: 48, acceleratorDevices: 4, memoryMiB: 192 * 1024 });
    expect(INSTANCE_TYPES['ml.p4d.24xlarge']).toEqual({ vCpus: 96, acceleratorDevices: 8, memoryMiB: 1152 * 1024 });
    for (const family of ['m5', 'c5', 'g5', 'g6', 'p4d', 'p5', 'inf2']) {
      expect(Object.keys(INSTANCE_TYPES).some((t) => t.startsWith(`ml.${family}.`))).toBe(true);
    }
  });

  it('says which requirement an instance cannot meet', () => {
    expect(exceedsInstance({ cpus: 1, acceleratorDevices: 2, memoryMiB: 1024 }, INSTANCE_TYPES['ml.g5.xlarge'])).toBe(
      '2 accelerator devices (the instance has 1)',
    );
    expect(exceedsInstance({ cpus: 4, acceleratorDevices: 1, memoryMiB: 16384 }, INSTANCE_TYPES['ml.g5.xlarge'])).toBeUndefined();
  });
});

describe('copy placement', () => {
  it('fills an instance before using another, and never over-commits one', () => {
    const cap = newCapacity('AllTraffic', 'ml.m5.large', INSTANCE_TYPES['ml.m5.large'], 2);
    const a = placeCopy(cap, copy('a', 1));
    const b = placeCopy(cap, copy('b', 1));
    const c = placeCopy(cap, copy('c', 1.5));
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    // The first instance is full, the second has 0.5 CPU left: a 1-CPU copy fits nowhere, and
    // without managed scaling no instance is added; a 0.5-CPU copy takes the rest of the second.
    expect(placeCopy(cap, copy('d', 1))).toBeUndefined();
    expect(cap.instances).toHaveLength(2);
    expect(placeCopy(cap, copy('e', 0.5, 1024))).toBe(c);
  });

  it('counts memory and accelerators too', () => {
    const cap = newCapacity('AllTraffic', 'ml.g5.xlarge', INSTANCE_TYPES['ml.g5.xlarge'], 1);
    expect(placeCopy(cap, copy('gpu', 1, 1024, 1))).toBeDefined();
    expect(placeCopy(cap, copy('gpu2', 1, 1024, 1))).toBeUndefined();
    expect(placeCopy(cap, copy('mem', 1, 15 * 1024))).toBeDefined();
    expect(placeCopy(cap, copy('mem2', 0.25, 1024))).toBeUndefined();
  });

  it('with managed scaling, adds instances up to the maximum and removes empty ones down to the minimum', () => {
    const cap = newCapacity('AllTraffic', 'ml.m5.large', INSTANCE_TYPES['ml.m5.large'], 1, { min: 0, max: 3 });
    for (const id of ['a', 'b', 'c']) expect(placeCopy(cap, copy(id, 2))).toBeDefined();
    expect(cap.instances).toHaveLength(3);
    expect(placeCopy(cap, copy('d', 2))).toBeUndefined();
    releaseCopy(cap, 'b');
    removeEmptyInstances(cap);
    expect(cap.instances.map((i) => i.copies.map((c) => c.copyId))).toEqual([['a'], ['c']]);
    releaseCopy(cap, 'a');
    releaseCopy(cap, 'c');
    removeEmptyInstances(cap);
    expect(cap.instances).toHaveLength(0);
    // Scale from zero: the next copy brings an instance back.
    expect(placeCopy(cap, copy('e', 1))).toBeDefined();
    expect(cap.instances).toHaveLength(1);
  });

  it('keeps MinInstanceCount instances even when empty', () => {
    const cap = newCapacity('AllTraffic', 'ml.m5.large', INSTANCE_TYPES['ml.m5.large'], 3, { min: 2, max: 3 });
    removeEmptyInstances(cap);
    expect(cap.instances).toHaveLength(2);
  });

  it('refuses a copy bigger than the instance type, even with room to scale', () => {
    const cap = newCapacity('AllTraffic', 'ml.m5.large', INSTANCE_TYPES['ml.m5.large'], 0, { min: 0, max: 5 });
    expect(placeCopy(cap, copy('huge', 4))).toBeUndefined();
    expect(cap.instances).toHaveLength(0);
  });
});

describe('rolling update batches', () => {
  it('takes MaximumBatchSize as a copy count or a percentage of the desired copies, rounded up', () => {
    expect(rollingBatchSize({ Type: 'COPY_COUNT', Value: 2 }, 5)).toBe(2);
    expect(rollingBatchSize({ Type: 'CAPACITY_PERCENT', Value: 50 }, 5)).toBe(3);
    expect(rollingBatchSize({ Type: 'CAPACITY_PERCENT', Value: 10 }, 4)).toBe(1);
    expect(rollingBatchSize(undefined, 4)).toBe(4);
    expect(rollingBatchSize(undefined, 0)).toBe(1);
  });
});
