// GitHub's own expression evaluator (npm @actions/expressions) as a test oracle.
// stdin: {"context": {...}, "expressions": ["..."]}; stdout: one result per expression,
// {"value": <encoded>} or {"error": "...", "stage": "lexing"|"parsing"|"evaluation"}. Numbers are encoded as {"$n": String(n)}
// so NaN, Infinity and JavaScript's formatting survive JSON.
import { Lexer, Parser, Evaluator, data } from "@actions/expressions";

function encode(d) {
  switch (d.kind) {
    case data.Kind.Null: return null;
    case data.Kind.Boolean: return d.value;
    case data.Kind.Number: return { $n: String(d.value) };
    case data.Kind.String: return d.value;
    case data.Kind.Array: return d.values().map(encode);
    default: {
      const out = {};
      for (const { key, value } of d.pairs()) out[key] = encode(value);
      return { $d: out };
    }
  }
}

let input = "";
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", () => {
  const req = JSON.parse(input);
  const context = JSON.parse(JSON.stringify(req.context), data.reviver);
  const names = Object.keys(req.context);
  const message = (e) => String(e && e.message ? e.message : e);
  const results = req.expressions.map((text) => {
    let tokens, expr;
    try {
      tokens = new Lexer(text).lex().tokens;
    } catch (e) {
      return { error: message(e), stage: "lexing" };
    }
    try {
      expr = new Parser(tokens, names, []).parse();
    } catch (e) {
      return { error: message(e), stage: "parsing" };
    }
    if (expr === undefined) return { value: null }; // an empty expression
    try {
      return { value: encode(new Evaluator(expr, context).evaluate()) };
    } catch (e) {
      return { error: message(e), stage: "evaluation" };
    }
  });
  process.stdout.write(JSON.stringify(results));
});
