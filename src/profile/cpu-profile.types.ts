/**
 * The part of V8's `Profiler.Profile` (Chrome DevTools Protocol) the library reads: the node tree and the samples.
 * Declared here so that no `.d.ts` of the library imports `devtools-protocol`.
 */
export interface CpuProfile {
  nodes: CpuProfileNode[];
  /** Microseconds (V8's clock). */
  startTime: number;
  endTime: number;
  /** Id of the node each sample landed in (the innermost frame). */
  samples?: number[];
  /** Microseconds between consecutive samples; the first one is from `startTime`. */
  timeDeltas?: number[];
}

export interface CpuProfileNode {
  id: number;
  callFrame: {
    functionName: string;
    scriptId: string;
    url: string;
    /** 0-based; -1 when unknown. */
    lineNumber: number;
    columnNumber: number;
  };
  hitCount?: number;
  children?: number[];
}
