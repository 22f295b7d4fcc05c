// GitHub's own expression evaluator (npm @actions/expressions) as a test oracle.
// stdin: {"context": {...}, "expressions": ["..."]}; stdout: one result per expression,
// {"value": <encoded>} or {"error": "..."}. Numbers are encoded as {"$n": String(n)}
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
  const results = req.expressions.map((text) => {
    try {
      const lr = new Lexer(text).lex();
      const expr = new Parser(lr.tokens, names, []).parse();
      return { value: encode(new Evaluator(expr, context).evaluate()) };
    } catch (e) {
      return { error: String(e && e.message ? e.message : e) };
    }
  });
  process.stdout.write(JSON.stringify(results));
});
