import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
function files(d: string): string[] { return readdirSync(d, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? files(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : []); }
for (const f of files('gateway/src')) {
  const text = readFileSync(f, 'utf8');
  const lines = text.split('\n').length;
  if (lines > 380) console.log('FILE', lines, f);
  const sf = ts.createSourceFile(f, text, ts.ScriptTarget.Latest, true);
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n) || ts.isArrowFunction(n) || ts.isMethodDeclaration(n) || ts.isConstructorDeclaration(n)) {
      const a = sf.getLineAndCharacterOfPosition(n.getStart()).line, b = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
      if (b - a + 1 > 110) console.log('FN', b - a + 1, f + ':' + (a + 1), (n as ts.FunctionDeclaration).name?.getText() ?? (ts.isVariableDeclaration(n.parent) ? n.parent.name.getText() : '(anon)'));
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}
