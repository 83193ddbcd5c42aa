import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';

const root = process.cwd();
const readme = readFileSync(join(root, 'README.md'), 'utf8');
// The README and every page of docs/: each TypeScript snippet must compile against the library.
const pages = [
  readme,
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => readFileSync(join(root, 'docs', f), 'utf8')),
];
const snippets = pages.flatMap((page) => [...page.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? ''));

describe('README', () => {
  it('shows the two commands', () => {
    expect(readme).toContain('npm install && npm run example');
    expect(readme).toMatch(/^npm test\b/m);
  });

  it('documents every option of TraceModuleOptions in the options table', () => {
    const source = readFileSync(join(root, 'src/trace.options.ts'), 'utf8');
    const body = /export interface TraceModuleOptions \{([\s\S]*?)\n\}/.exec(source)?.[1] ?? '';
    const options = [...body.matchAll(/^ {2}(\w+)\?:/gm)].map((match) => match[1]);
    expect(options.length).toBeGreaterThan(10);
    for (const option of options) expect(readme).toContain(`| \`${option}`);
  });

  it('every TypeScript snippet of the README and docs/ type-checks against the library', () => {
    expect(snippets.length).toBeGreaterThanOrEqual(5);
    const dir = resolve(root, 'test/.readme-snippets');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = snippets.map((code, index) => {
      const file = join(dir, `snippet-${index + 1}.ts`);
      // Each snippet is its own module.
      writeFileSync(file, code.includes('export ') || code.includes('import ') ? code : `${code}\nexport {};\n`);
      return file;
    });
    const program = ts.createProgram([...files, join(root, 'test/support/readme-stubs.d.ts')], {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      skipLibCheck: true,
      noEmit: true,
      types: ['node'],
      baseUrl: root,
      paths: { 'nestjs-trace': ['src/index.ts'] },
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file === undefined || d.file.fileName.includes('.readme-snippets'))
      .map(
        (d) =>
          `${d.file ? `${d.file.fileName.split('/').pop()}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
      );
    rmSync(dir, { recursive: true, force: true });
    expect(problems).toEqual([]);
  });
});
