/**
 * Checks README.md and docs/*.md (docs/development.md, "Docs"):
 *
 *   npx tsx scripts/check-docs.ts     (npm run docs:check; CI runs it)
 *
 * Exits 1 listing each broken relative link or anchor as `file:line: target (why)`, each snippet
 * that is no longer the file it names, and the README when it is over its line or word limit.
 */
import { fileURLToPath } from "node:url";
import { checkDocs, docsFiles, formatProblem } from "./docs/check.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const problems = checkDocs(root);
for (const problem of problems) console.error(formatProblem(problem));
if (problems.length > 0) process.exit(1);
console.log(
  `docs: ${docsFiles(root).length} files, every relative link and anchor resolves, every snippet is its file`,
);
