import { describe, expect, it } from '@jest/globals';
import { ActiveTrace } from '../../../src/context/active-trace.js';
import { RunningTraces } from '../../../src/report/running-traces.js';

function trace(name: string): ActiveTrace {
  return new ActiveTrace({ transport: 'manual', handlerName: name }, undefined);
}

function names(list: RunningTraces): string[] {
  const seen: string[] = [];
  list.forEach((t) => seen.push(t.names[0] ?? ''));
  return seen;
}

describe('RunningTraces', () => {
  it('lists traces newest first and removes any of them', () => {
    const list = new RunningTraces();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(trace) as [ActiveTrace, ActiveTrace, ActiveTrace, ActiveTrace];
    for (const t of [a, b, c, d]) list.add(t);
    list.add(b); // twice: still once
    expect(names(list)).toEqual(['d', 'c', 'b', 'a']);
    list.delete(c); // middle
    expect(names(list)).toEqual(['d', 'b', 'a']);
    list.delete(d); // newest
    expect(names(list)).toEqual(['b', 'a']);
    list.delete(a); // oldest
    list.delete(a); // not there any more: nothing happens
    expect(names(list)).toEqual(['b']);
    list.add(c);
    expect(names(list)).toEqual(['c', 'b']);
    expect([c.runningOlder, a.runningOlder, a.runningNewer, d.runningNewer]).toEqual([
      b,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('lets the visitor delete the trace it is given, and clears', () => {
    const list = new RunningTraces();
    const all = ['a', 'b', 'c', 'd', 'e'].map(trace);
    for (const t of all) list.add(t);
    list.forEach((t) => {
      if (t.names[0] !== 'c') list.delete(t);
    });
    expect(names(list)).toEqual(['c']);
    for (const t of all) list.add(t);
    expect(names(list)).toEqual(['e', 'd', 'b', 'a', 'c']);
    list.clear();
    expect(names(list)).toEqual([]);
    expect(all.every((t) => t.runningOlder === undefined && t.runningNewer === undefined)).toBe(true);
  });
});
