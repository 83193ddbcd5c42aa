import { readFile } from 'node:fs/promises';
import { findSourceMap, SourceMap } from 'node:module';
import type { SourceMapPayload } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BlockedStackFrame } from '../trace.types.js';

/** Source maps kept (by generated file); a blocked report names at most 20 files. */
const MAX_CACHED_FILES = 200;

/**
 * Maps blocked-report frames from the running JavaScript (`dist/*.js`) to the sources the app was written in, so a
 * frame points at the TypeScript line. Two ways, first that answers: the map Node itself holds for the file (with
 * `--enable-source-maps`), then `<file>.map` next to it (what `tsc --sourceMap` and Nest's build write). Runs only
 * when a blocked report is written, off the loop's hot path; the maps it read are kept for the next report.
 */
export class SourceMappedStack {
  private readonly maps = new Map<string, SourceMap | null>();

  async map(stack: readonly BlockedStackFrame[]): Promise<BlockedStackFrame[]> {
    const mapped: BlockedStackFrame[] = [];
    for (const frame of stack) mapped.push(await this.mapFrame(frame));
    return mapped;
  }

  private async mapFrame(frame: BlockedStackFrame): Promise<BlockedStackFrame> {
    if (!isAbsolute(frame.file) || frame.line < 1) return frame;
    const map = await this.sourceMap(frame.file);
    if (map === null) return frame;
    const entry = map.findEntry(frame.line - 1, Math.max(0, frame.column - 1)) as Partial<{
      originalSource: string;
      originalLine: number;
      originalColumn: number;
    }>;
    if (entry.originalSource === undefined || entry.originalLine === undefined) return frame;
    return {
      ...frame,
      file: sourcePath(entry.originalSource, frame.file, map),
      line: entry.originalLine + 1,
      column: (entry.originalColumn ?? 0) + 1,
    };
  }

  private async sourceMap(file: string): Promise<SourceMap | null> {
    const cached = this.maps.get(file);
    if (cached !== undefined) return cached;
    let map: SourceMap | null;
    try {
      map = findSourceMap(file) ?? null;
    } catch {
      map = null;
    }
    if (map === null) {
      try {
        const payload = JSON.parse(await readFile(`${file}.map`, 'utf8')) as SourceMapPayload;
        if (Array.isArray(payload.sources) && typeof payload.mappings === 'string') map = new SourceMap(payload);
      } catch {
        // No map next to the file, or not one Node can read: the frame stays as it ran.
      }
    }
    if (this.maps.size >= MAX_CACHED_FILES) this.maps.clear();
    this.maps.set(file, map);
    return map;
  }
}

/** A map's source as a path: Node resolves the ones it holds to `file://` URLs; a `.map` file's are relative to it. */
function sourcePath(source: string, generated: string, map: SourceMap): string {
  if (source.startsWith('file://')) {
    try {
      return fileURLToPath(source);
    } catch {
      return source;
    }
  }
  if (isAbsolute(source)) return source;
  return resolve(dirname(generated), map.payload.sourceRoot ?? '', source);
}
