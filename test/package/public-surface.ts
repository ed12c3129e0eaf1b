/**
 * The package's public surface as text: for every `exports` entry, each exported name with its type
 * (interfaces and type aliases member by member), as the TypeScript checker sees the sources. A
 * change to what a user can import or to the shape of a public type changes this text.
 */
import { readFileSync } from "node:fs";
import ts from "typescript";

// Names, not file paths: moving a file is not a change to the public surface.
const FORMAT = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.WriteArrowStyleSignature;

/** `exports` entry → its source file (`./dist/src/x.js` → `src/x.ts`). */
export function entrySources(root: string): Record<string, string> {
  const pkg = JSON.parse(readFileSync(`${root}/package.json`, "utf8")) as {
    exports: Record<string, string | { default: string }>;
  };
  const out: Record<string, string> = {};
  for (const [entry, target] of Object.entries(pkg.exports)) {
    const file = typeof target === "string" ? target : target.default;
    if (file.endsWith(".js"))
      out[entry] = `${root}/${file.replace(/^\.\/dist\//, "").replace(/\.js$/, ".ts")}`;
  }
  return out;
}

function describeSymbol(checker: ts.TypeChecker, symbol: ts.Symbol, at: ts.Node): string[] {
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const lines: string[] = [];
  if (target.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias | ts.SymbolFlags.Class)) {
    const type = checker.getDeclaredTypeOfSymbol(target);
    lines.push(
      `type ${symbol.name} = ${checker.typeToString(type, at, FORMAT | ts.TypeFormatFlags.InTypeAlias)}`,
    );
    // Members of object types only: a union or a primitive is said in full by the line above.
    const members = type.flags & ts.TypeFlags.Object ? checker.getPropertiesOfType(type) : [];
    for (const property of members.filter((member) => !member.name.startsWith("#"))) {
      const optional = property.flags & ts.SymbolFlags.Optional ? "?" : "";
      const propertyType = checker.getTypeOfSymbolAtLocation(property, at);
      lines.push(`  .${property.name}${optional}: ${checker.typeToString(propertyType, at, FORMAT)}`);
    }
  }
  if (target.flags & ts.SymbolFlags.Value) {
    const type = checker.getTypeOfSymbolAtLocation(target, at);
    lines.push(`value ${symbol.name}: ${checker.typeToString(type, at, FORMAT)}`);
  }
  return lines;
}

/** One block per entry, names sorted. */
export function publicSurface(root: string): string {
  const entries = entrySources(root);
  const program = ts.createProgram(Object.values(entries), {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const blocks: string[] = [];
  for (const [entry, file] of Object.entries(entries).sort()) {
    const source = program.getSourceFile(file);
    const module = source && checker.getSymbolAtLocation(source);
    if (!source || !module) throw new Error(`cannot read the entry ${entry} (${file})`);
    const names = checker.getExportsOfModule(module).sort((a, b) => a.name.localeCompare(b.name));
    blocks.push(`# ${entry}`, ...names.flatMap((symbol) => describeSymbol(checker, symbol, source)), "");
  }
  // A type the entry does not name is printed as `import("<file>").Name`: keep the name only.
  return blocks.join("\n").replace(/import\("[^"]*"\)\./g, "");
}
