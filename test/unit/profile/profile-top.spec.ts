import type { CpuProfile, CpuProfileNode } from '../../../src/profile/cpu-profile.types.js';
import { topFunctions } from '../../../src/profile/profile-top.js';

function node(
  id: number,
  functionName: string,
  url = '',
  lineNumber = -1,
  scriptId = url === '' ? '0' : '7',
): CpuProfileNode {
  return { id, callFrame: { functionName, scriptId, url, lineNumber, columnNumber: 0 } };
}

/** Samples every 1000 µs unless `deltas` says otherwise; the last sample lasts until `endTime`. */
function profile(nodes: CpuProfileNode[], samples: number[], deltas?: number[]): CpuProfile {
  const timeDeltas = deltas ?? samples.map(() => 1000);
  const end = timeDeltas.reduce((sum, d) => sum + d, 0) + 1000;
  return { nodes, startTime: 0, endTime: end, samples, timeDeltas };
}

describe('topFunctions', () => {
  it('sums self time per function over its call paths, heaviest first, with a path and a 1-based line', () => {
    const nodes = [
      node(1, '(root)'),
      node(2, 'burnCpu', 'file:///app/dist/game.service.js', 11),
      node(3, 'burnCpu', 'file:///app/dist/game.service.js', 11), // the same function reached another way
      node(4, 'processTimers', 'node:internal/timers', 503),
      node(5, '', 'file:///app/dist/main.js', 0),
    ];
    const top = topFunctions(profile(nodes, [2, 2, 3, 4, 5, 5, 5]));
    expect(top).toEqual([
      { function: 'burnCpu', file: '/app/dist/game.service.js', line: 12, selfMs: 3 },
      { function: '(anonymous)', file: '/app/dist/main.js', line: 1, selfMs: 3 },
      { function: 'processTimers', file: 'node:internal/timers', line: 504, selfMs: 1 },
    ]);
  });

  it('counts each sample as the time until the next one, not as one interval', () => {
    const nodes = [node(1, '(root)'), node(2, 'fast', 'file:///a.js', 0), node(3, 'slow', 'file:///a.js', 5)];
    // `slow` was sampled once, but the sampler did not come back for 30 ms.
    const top = topFunctions(profile(nodes, [2, 3, 2], [1000, 1000, 30_000]));
    expect(top.map((f) => [f.function, f.selfMs])).toEqual([
      ['slow', 30],
      ['fast', 2],
    ]);
  });

  it("leaves out (idle), (program) and (root) but keeps (garbage collector), with file '' and line 0", () => {
    const nodes = [node(1, '(root)'), node(2, '(idle)'), node(3, '(program)'), node(4, '(garbage collector)')];
    const top = topFunctions(profile(nodes, [2, 2, 2, 3, 3, 4]));
    expect(top).toEqual([{ function: '(garbage collector)', file: '', line: 0, selfMs: 1 }]);
  });

  it('keeps the ten heaviest', () => {
    const nodes = [node(1, '(root)'), ...Array.from({ length: 15 }, (_, i) => node(i + 2, `f${i}`, 'file:///a.js', i))];
    const samples = nodes.slice(1).flatMap((n, i) => Array<number>(i + 1).fill(n.id));
    const top = topFunctions(profile(nodes, samples));
    expect(top).toHaveLength(10);
    expect(top[0]).toMatchObject({ function: 'f14', selfMs: 15 });
    expect(top[9]).toMatchObject({ function: 'f5', selfMs: 6 });
  });

  it('falls back to hitCount when a profile has no samples', () => {
    const nodes = [
      { ...node(1, '(root)'), hitCount: 0 },
      { ...node(2, 'work', 'file:///a.js', 1), hitCount: 3 },
      { ...node(3, '(idle)'), hitCount: 1 },
    ];
    const top = topFunctions({ nodes, startTime: 0, endTime: 4000 });
    expect(top).toEqual([{ function: 'work', file: '/a.js', line: 2, selfMs: 3 }]);
  });
});
