// graphql-http's server audits (GraphQL over HTTP conformance) against the
// URL given; prints one line per audit and exits non-zero unless all are ok.
import { auditServer } from "graphql-http";

const url = process.argv[2];
const results = await auditServer({ url });
let notOk = 0;
for (const r of results) {
  const why = r.status === "ok" ? "" : `: ${r.reason}`;
  console.log(`${r.status} ${r.id} ${r.name}${why}`);
  if (r.status !== "ok") notOk += 1;
}
console.log(JSON.stringify({ audits: results.length, ok: results.length - notOk }));
process.exit(notOk === 0 ? 0 : 1);
