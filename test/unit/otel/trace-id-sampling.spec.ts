import { randomUUID } from 'node:crypto';
import { keepByTraceId } from '../../../src/otel/trace-id-sampling.js';

describe('keepByTraceId (otel.okSampleRate)', () => {
  it('decides from the trace id alone, the same way in every process', () => {
    expect(keepByTraceId('4bf92f3577b34da6a3ffffffffffffff', 0.5)).toBe(true);
    expect(keepByTraceId('5bf92f3577b34da6a30000000000000a', 0.5)).toBe(false);
    expect(keepByTraceId('5bf92f3577b34da6a30000000000000a', 1)).toBe(true);
    expect(keepByTraceId('4bf92f3577b34da6a3ffffffffffffff', 0)).toBe(false);
    // R = 0x80000000000000 is exactly half of 2^56: kept at 0.5, not below.
    expect(keepByTraceId('00000000000000000080000000000000', 0.5)).toBe(true);
    expect(keepByTraceId('00000000000000000080000000000000', 0.49)).toBe(false);
    expect(keepByTraceId('0000000000000000007fffffffffffff', 0.5)).toBe(false);
    // Over many random ids the share kept is the rate.
    let kept = 0;
    for (let i = 0; i < 20_000; i++) if (keepByTraceId(randomUUID().replace(/-/g, ''), 0.1)) kept++;
    expect(kept / 20_000).toBeGreaterThan(0.08);
    expect(kept / 20_000).toBeLessThan(0.12);
  });
});
