/**
 * What one TypeScript or JavaScript file imports, read from its syntax tree (TypeScript's own
 * parser) so comments, strings and JSDoc examples never count. Every form that makes a file depend
 * on another counts, type-only ones included: a type import still points the dependency one way.
 * Shared by the import-direction check (scripts/layers.ts) and the dependencies test.
 */
import ts from "typescript";

export type ImportKind =
  /** `import … from "x"`, `import "x"` */
  | "import"
  /** `import type …`, `export type … from`, `typeof import("x")`, `import("x").T` in a type */
  | "type"
  /** `export … from "x"`, `export * from "x"` */
  | "re-export"
  /** `import("x")` at run time */
  | "dynamic"
  /** `require("x")`, `require.resolve("x")`, `import x = require("x")` */
  | "require";

export interface ModuleImport {
  specifier: string;
  kind: ImportKind;
  /** 1-based line of the import, for messages. */
  line: number;
}

function literal(node: ts.Node | undefined): string | undefined {
  return node !== undefined && ts.isStringLiteralLike(node) ? node.text : undefined;
}

/** `require(…)` or `require.resolve(…)`. */
function isRequire(callee: ts.Expression): boolean {
  if (ts.isIdentifier(callee)) return callee.text === "require";
  return (
    ts.isPropertyAccessExpression(callee) &&
    ts.isIdentifier(callee.expression) &&
    callee.expression.text === "require" &&
    callee.name.text === "resolve"
  );
}

/** The one import a node makes, if it makes one; dynamic imports of computed names cannot be followed. */
function importAt(node: ts.Node): { specifier: string | undefined; kind: ImportKind } | undefined {
  if (ts.isImportDeclaration(node))
    return {
      specifier: literal(node.moduleSpecifier),
      kind: node.importClause?.isTypeOnly ? "type" : "import",
    };
  if (ts.isExportDeclaration(node) && node.moduleSpecifier)
    return { specifier: literal(node.moduleSpecifier), kind: node.isTypeOnly ? "type" : "re-export" };
  if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument))
    return { specifier: literal(node.argument.literal), kind: "type" };
  if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
    return { specifier: literal(node.moduleReference.expression), kind: "require" };
  if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
    return { specifier: literal(node.arguments[0]), kind: "dynamic" };
  if (ts.isCallExpression(node) && isRequire(node.expression))
    return { specifier: literal(node.arguments[0]), kind: "require" };
  return undefined;
}

/** Every import of the file, in source order. */
export function moduleImports(fileName: string, text: string): ModuleImport[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false);
  const found: ModuleImport[] = [];
  const visit = (node: ts.Node): void => {
    const at = importAt(node);
    if (at?.specifier !== undefined) {
      const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      found.push({ specifier: at.specifier, kind: at.kind, line });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}
