import { fileURLToPath } from 'node:url';

/** A script's location as V8 names it (`file:///…`, a path, `node:internal/…`), as a path where it is a file URL. */
export function scriptPath(url: string): string {
  if (!url.startsWith('file://')) return url;
  try {
    return fileURLToPath(url);
  } catch {
    return url;
  }
}
