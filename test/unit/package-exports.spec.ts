import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// Checks the built package (npm test builds before Jest runs). Jest runs from the repo root.
const root = process.cwd();
const dist = join(root, 'dist');
const BUILD_FIRST = 'dist/ is missing or incomplete: run npm run build first';

/** Optional peers: a declaration file that names one breaks type-checking for apps that do not install it. */
const OPTIONAL_PACKAGES = [
  'typeorm',
  'mysql2',
  'ioredis',
  'socket.io',
  '@opentelemetry/*',
  'prom-client',
  '@socket.io/admin-ui',
  '@nestjs/websockets',
  '@nestjs/microservices',
  '@nestjs-modules/ioredis',
];

function isOptional(specifier: string): boolean {
  return OPTIONAL_PACKAGES.some((name) =>
    name.endsWith('/*')
      ? specifier.startsWith(name.slice(0, -1))
      : specifier === name || specifier.startsWith(`${name}/`),
  );
}

function filesEndingWith(dir: string, suffix: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesEndingWith(path, suffix);
    return entry.name.endsWith(suffix) ? [path] : [];
  });
}

function declarationFiles(dir: string): string[] {
  return filesEndingWith(dir, '.d.ts');
}

/** Every module a declaration file imports, re-exports, `import()`s, `require()`s or references. */
function referencedModules(source: string): string[] {
  const patterns = [
    /\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, // import … from 'x' / export … from 'x'
    /\bimport\s*['"]([^'"]+)['"]/g, // import 'x'
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // import('x') in types
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // import x = require('x')
    /\/\/\/\s*<reference\s+(?:types|path|lib)\s*=\s*['"]([^'"]+)['"]/g, // /// <reference types="x" />
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1]!));
}

function assertBuilt(...paths: string[]): void {
  for (const path of paths) {
    if (!existsSync(join(root, path))) throw new Error(`${path} not found: ${BUILD_FIRST}`);
  }
}

describe('built package (dist/)', () => {
  it('has both entry points', () => {
    assertBuilt('dist/cjs/index.js', 'dist/esm/index.js', 'dist/cjs/index.d.ts', 'dist/esm/index.d.ts');
  });

  it('marks dist/cjs as CommonJS (the root package.json says "type": "module")', () => {
    assertBuilt('dist/cjs/package.json');
    const marker = JSON.parse(readFileSync(join(dist, 'cjs', 'package.json'), 'utf8')) as { type?: string };
    expect(marker.type).toBe('commonjs');
    expect(readFileSync(join(dist, 'cjs', 'index.js'), 'utf8')).toMatch(/\bexports\b|\brequire\(/);
    expect(readFileSync(join(dist, 'esm', 'index.js'), 'utf8')).toMatch(/^export /m);
  });

  it('points main, types and every exports condition at built files', () => {
    assertBuilt('dist/cjs/index.js', 'dist/esm/index.js');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      main: string;
      types: string;
      exports: Record<string, unknown>;
    };
    const targets: string[] = [pkg.main, pkg.types];
    const collect = (value: unknown): void => {
      if (typeof value === 'string') targets.push(value);
      else if (value && typeof value === 'object') Object.values(value).forEach(collect);
    };
    collect(pkg.exports['.']);
    const missing = targets.filter((target) => !existsSync(join(root, target)));
    expect(missing).toEqual([]);
  });

  it('ships source maps that carry their sources (the tarball has no src/)', () => {
    assertBuilt('dist/cjs/index.js.map', 'dist/esm/index.js.map');
    const maps = ['cjs', 'esm'].flatMap((format) => filesEndingWith(join(dist, format), '.js.map'));
    expect(maps.length).toBeGreaterThan(10);
    const missing = maps.filter((path) => {
      const map = JSON.parse(readFileSync(path, 'utf8')) as { sources: string[]; sourcesContent?: unknown[] };
      return (
        map.sourcesContent?.length !== map.sources.length ||
        !map.sourcesContent.every((content) => typeof content === 'string' && content.length > 0)
      );
    });
    expect(missing.map((path) => relative(root, path))).toEqual([]);
  });

  it('declares TraceContext with its public API only (the span buffer is internal)', () => {
    assertBuilt('dist/cjs/context/trace-context.d.ts');
    for (const format of ['cjs', 'esm']) {
      const declaration = readFileSync(join(dist, format, 'context', 'trace-context.d.ts'), 'utf8');
      const members = [...declaration.matchAll(/^ {4}(?:(?:static|get|private|readonly) )*(\w+)[(<;:]/gm)].map(
        (m) => m[1],
      );
      // `trace` is the private field holding the internal record (its type is not declared), `constructor` private.
      expect(members.sort()).toEqual([
        'addLog',
        'constructor',
        'current',
        'elapsedMs',
        'run',
        'spanId',
        'trace',
        'traceId',
      ]);
      expect(declaration).toMatch(/private readonly trace;/);
      expect(declaration).toMatch(/private constructor\(\);/);
      expect(declaration).not.toMatch(/import/);
    }
  });

  it('leaves no @internal member in any declaration file', () => {
    const leaks = declarationFiles(dist).filter((file) => readFileSync(file, 'utf8').includes('@internal'));
    expect(leaks.map((file) => relative(root, file))).toEqual([]);
  });

  it('has declarations that import or reference no optional package', () => {
    assertBuilt('dist/cjs/index.d.ts', 'dist/esm/index.d.ts');
    const files = declarationFiles(dist);
    expect(files.length).toBeGreaterThan(1);
    const offending = files.flatMap((file) =>
      referencedModules(readFileSync(file, 'utf8'))
        .filter(isOptional)
        .map((specifier) => `${relative(root, file)} -> ${specifier}`),
    );
    expect(offending).toEqual([]);
  });

  it('the import scanner finds every form a declaration file can use', () => {
    const sample = [
      "import type { DataSource } from 'typeorm';",
      "import { Pool } from 'mysql2/promise';",
      "export { Redis } from 'ioredis';",
      "export * from '@opentelemetry/api';",
      "import 'prom-client';",
      "declare const s: import('socket.io').Server;",
      "import admin = require('@socket.io/admin-ui');",
      '/// <reference types="@nestjs/microservices" />',
      'import {\n  WsException,\n} from "@nestjs/websockets";',
      "import type { RedisModule } from '@nestjs-modules/ioredis';",
      "import { Injectable } from '@nestjs/common';",
      "import { AsyncLocalStorage } from 'node:async_hooks';",
      "import type { X } from './typeorm.types.js';",
    ].join('\n');
    const found = referencedModules(sample);
    const optional = [
      'typeorm',
      'mysql2/promise',
      'ioredis',
      '@opentelemetry/api',
      '@nestjs/websockets',
      '@nestjs-modules/ioredis',
    ];
    optional.push('prom-client', 'socket.io', '@socket.io/admin-ui', '@nestjs/microservices');
    expect(found.filter(isOptional).sort()).toEqual(optional.sort());
    expect(found).toEqual(expect.arrayContaining(['@nestjs/common', 'node:async_hooks', './typeorm.types.js']));
  });
});
