import { normalizePostgresSql, normalizeSql } from '../../../src/instrumentation/normalize-sql.js';

const pg = (sql: string): string => normalizePostgresSql(sql, 500);

describe('normalizePostgresSql', () => {
  it.each([
    // TypeORM's quoted identifiers and $n placeholders are kept.
    [
      'SELECT "User"."id" AS "User_id" FROM "user" "User" WHERE "User"."id" = $1 LIMIT 1',
      'SELECT "User"."id" AS "User_id" FROM "user" "User" WHERE "User"."id" = $1 LIMIT ?',
    ],
    // Identifiers with digits and doubled quotes stay identifiers.
    ['SELECT "t1"."a""b" FROM "t1"', 'SELECT "t1"."a""b" FROM "t1"'],
    // Strings ('' escapes, E'' backslash escapes), dollar-quoted text, numbers → ?
    ["SELECT 'it''s secret', E'back\\'slash', 42, -1.5e3", 'SELECT ?, ?, ?, ?'],
    ['SELECT $$dollar secret$$, $tag$with $1 inside$tag$', 'SELECT ?, ?'],
    ["SELECT 'x'::text, $1::int", 'SELECT ?::text, $1::int'],
    // Lists fold.
    ['SELECT * FROM "p" WHERE "id" IN ($1, $2, $3)', 'SELECT * FROM "p" WHERE "id" IN ($1, …)'],
    ['SELECT * FROM "p" WHERE "id" IN (1, 2, 3)', 'SELECT * FROM "p" WHERE "id" IN (?)'],
    ['SELECT  1\n  FROM\t"x"', 'SELECT ? FROM "x"'],
  ])('%s → %s', (input, expected) => {
    expect(pg(input)).toBe(expected);
  });

  it('cuts to maxLength, and MySQL normalization still treats double quotes as strings', () => {
    expect(normalizePostgresSql(`SELECT "${'a'.repeat(50)}"`, 20)).toBe(`SELECT "${'a'.repeat(12)}…`);
    expect(normalizeSql('SELECT "secret"', 100)).toBe('SELECT ?');
  });
});
