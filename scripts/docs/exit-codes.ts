/**
 * The exit-code table of docs/cli.md, from its one definition: `EXIT` in src/ops/errors.ts. The
 * codes are the object's values; what each means is the doc comment above its member, read with the
 * TypeScript parser. A member without a comment, or source that no longer matches the object the CLI
 * runs with, stops the generator rather than printing a table that disagrees with the code.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { EXIT } from "../../src/ops/errors.js";

/** Where `EXIT` is declared: the same module the import above names. */
const SOURCE = fileURLToPath(new URL("../../src/ops/errors.ts", import.meta.url));

export interface ExitCodeRow {
  code: number;
  /** The member's name, e.g. `unconfirmed`. */
  name: string;
  /** Its doc comment, one line. */
  meaning: string;
}

function exitObject(file: ts.SourceFile): ts.ObjectLiteralExpression {
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (!ts.isIdentifier(declaration.name) || declaration.name.text !== "EXIT") continue;
      let value = declaration.initializer;
      while (value !== undefined && (ts.isAsExpression(value) || ts.isSatisfiesExpression(value)))
        value = value.expression;
      if (value !== undefined && ts.isObjectLiteralExpression(value)) return value;
    }
  }
  throw new Error(`cli-reference: no \`export const EXIT = { … }\` in ${SOURCE}`);
}

function commentOf(member: ts.Node, file: ts.SourceFile): string {
  const text = ts
    .getJSDocCommentsAndTags(member)
    .map((doc) => (ts.isJSDoc(doc) ? ts.getTextOfJSDocComment(doc.comment) : undefined))
    .filter((comment) => comment !== undefined)
    .join(" ");
  if (text === "") {
    const { line } = file.getLineAndCharacterOfPosition(member.getStart(file));
    throw new Error(`cli-reference: EXIT member at ${SOURCE}:${line + 1} has no doc comment`);
  }
  return text.replace(/\s+/g, " ").trim();
}

export function exitCodeRows(): ExitCodeRow[] {
  const file = ts.createSourceFile(SOURCE, readFileSync(SOURCE, "utf8"), ts.ScriptTarget.Latest, true);
  const rows: ExitCodeRow[] = [];
  for (const member of exitObject(file).properties) {
    if (!ts.isPropertyAssignment(member) || !ts.isIdentifier(member.name)) continue;
    const name = member.name.text;
    const code = (EXIT as Record<string, number>)[name];
    if (
      code === undefined ||
      !ts.isNumericLiteral(member.initializer) ||
      Number(member.initializer.text) !== code
    )
      throw new Error(`cli-reference: EXIT.${name} in ${SOURCE} does not match the EXIT the CLI imports`);
    rows.push({ code, name, meaning: commentOf(member, file) });
  }
  if (rows.length !== Object.keys(EXIT).length)
    throw new Error(
      `cli-reference: read ${rows.length} EXIT members from ${SOURCE}, the CLI has ${Object.keys(EXIT).length}`,
    );
  return rows.sort((a, b) => a.code - b.code);
}
