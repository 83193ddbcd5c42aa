const MB = 1024 * 1024;

/** Bytes to mebibytes, one decimal. */
export function toMB(bytes: number): number {
  return round1(bytes / MB);
}

/** One decimal. */
export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Two decimals. */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
