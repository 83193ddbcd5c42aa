/**
 * Recognises the library's own stack frames (its wrappers: `traced`, `callWith`, `callInSpan`, `callOnFrame`, …) by
 * the file they run from, not by function name: a user's method may be called `traced` too, and minifiers or new
 * wrappers change names, but every frame of this package runs from a file under the package's root folder.
 *
 * The root is found once, from a stack captured in this very file, in the exact text form the runtime prints frames
 * in (`file:///…` under ESM, a plain path under CommonJS): `…/dist/esm`, `…/dist/cjs`, or `…/src` under ts-jest or
 * when an app compiles the sources itself (the example does). A frame belongs to the library when its location starts
 * with that root followed by a path separator.
 */
function findLibraryRoot(): string | undefined {
  const frame = new Error().stack?.split('\n').find((line) => line.includes('library-frames.'));
  // `    at findLibraryRoot (file:///x/dist/esm/report/library-frames.js:12:17)` → `file:///x/dist/esm`
  const location = /\(?((?:file:\/\/)?[^\s()]+?)[\\/]report[\\/]library-frames\.[cm]?[jt]s:\d+:\d+\)?$/.exec(
    frame?.trim() ?? '',
  );
  return location?.[1];
}

const root = findLibraryRoot();
const prefixes = root === undefined ? [] : [`(${root}/`, `(${root}\\`, `at ${root}/`, `at ${root}\\`];

/** True when a stack line (`    at fn (/path/file.js:1:2)`) points into this package's own files. */
export function isLibraryFrame(line: string): boolean {
  return prefixes.some((prefix) => line.includes(prefix));
}
