import { parseTraceparent } from '../../src/utils/traceparent.util.js';

describe('parseTraceparent', () => {
  it('accepts a valid header', () => {
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      sampled: true,
    });
  });
  it.each([
    ['00', false],
    ['01', true],
    ['02', false],
    ['03', true],
  ])('reads the sampled flag of flags %s', (flags, sampled) => {
    expect(parseTraceparent(`00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-${flags}`)?.sampled).toBe(sampled);
  });
  it.each([
    undefined,
    42,
    '',
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nSet-Cookie: x=1',
    'x'.repeat(10_000),
  ])('ignores %p', (value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });
});
