// Literals become `?` so values never leave the process: strings (with escaped quotes), hex and numbers.
const LITERALS =
  /'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|\b0x[0-9a-f]+\b|(?<![\w$`.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi;
const IN_LISTS = /\(\s*\?(?:\s*,\s*\?)+\s*\)/g;
const WHITESPACE = /\s+/g;

/**
 * Normalizes a SQL statement for reports: literals replaced by `?`, `IN (?, ?, ?)` folded to `IN (?)`,
 * whitespace collapsed, cut to `maxLength` characters. Backquoted identifiers are kept.
 * Double-quoted text is treated as a literal (MySQL's default `ANSI_QUOTES` off).
 */
export function normalizeSql(sql: string, maxLength: number): string {
  // Cut very long input first so a 10 MB statement costs no more than a long one.
  const input = sql.length > maxLength * 4 + 256 ? sql.slice(0, maxLength * 4 + 256) : sql;
  const normalized = input.replace(LITERALS, '?').replace(IN_LISTS, '(?)').replace(WHITESPACE, ' ').trim();
  return normalized.length > maxLength ? `${normalized.slice(0, maxLength)}…` : normalized;
}

// PostgreSQL: double quotes are identifiers (TypeORM quotes every name: `"user"."id"`) and are kept; strings are
// '…' ('' escapes), E'…' (backslash escapes too) and dollar-quoted $tag$…$tag$; `$1` placeholders are kept.
const PG_TOKENS =
  /"(?:[^"]|"")*"|\bE'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|\$([a-z_]\w*)?\$[\s\S]*?\$\1\$|\b0x[0-9a-f]+\b|(?<![\w$".])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi;
const PG_PLACEHOLDER_LISTS = /\(\s*(\$\d+)(?:\s*,\s*\$\d+)+\s*\)/g;

/**
 * Normalizes a PostgreSQL statement for reports like {@link normalizeSql}: literals (strings, dollar-quoted text,
 * numbers) become `?`, quoted identifiers and `$1` placeholders stay, `IN ($1, $2, $3)` folds to `IN ($1, …)` and
 * `IN (?, ?)` to `IN (?)`.
 */
export function normalizePostgresSql(sql: string, maxLength: number): string {
  const input = sql.length > maxLength * 4 + 256 ? sql.slice(0, maxLength * 4 + 256) : sql;
  const normalized = input
    .replace(PG_TOKENS, (token) => (token.startsWith('"') ? token : '?'))
    .replace(IN_LISTS, '(?)')
    .replace(PG_PLACEHOLDER_LISTS, '($1, …)')
    .replace(WHITESPACE, ' ')
    .trim();
  return normalized.length > maxLength ? `${normalized.slice(0, maxLength)}…` : normalized;
}

// Operations whose first word alone says little (`START` → `START TRANSACTION`).
const TWO_WORD = new Set(['START', 'RELEASE', 'ROLLBACK']);

/** The statement's operation keyword (`SELECT`, `INSERT`, `START TRANSACTION` …), upper-cased; `QUERY` when there is none. */
export function sqlOperation(sql: string): string {
  const match = /^\s*(?:\/\*.*?\*\/\s*)*\(?\s*([a-z]+)(?:\s+([a-z]+))?/is.exec(sql);
  const first = match?.[1]?.toUpperCase();
  if (!first) return 'QUERY';
  const second = match?.[2]?.toUpperCase();
  return TWO_WORD.has(first) && second !== undefined ? `${first} ${second}` : first;
}
