// Every property the OpenAPI document lists for a response is in the real response. utoipa leaves
// `Option<T>` fields out of `required`, while serde sends every field (as null if need be) unless
// it is skipped when empty; the UI's types (ui/src/api.ts, `Sent<>`) count on that. Run by
// scripts/ui-types.sh --check against a fresh `otklik serve` with demo data.
// Usage: node tests/openapi/fields.mjs BASE_URL TOKEN
const [base, token] = process.argv.slice(2);
if (!base || !token) throw new Error("usage: node fields.mjs BASE_URL TOKEN");
const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json" };

// The fields marked `skip_serializing_if`: ui/src/api.ts does not wrap their types in Sent<>.
const SKIPPED = new Set(["DeskInput.keys", "DeskInput.serve_key", "DeskInput.path", "DeskInput.baud", "ErrorBody.field", "DatabaseHealth.error"]);

const doc = await (await fetch(`${base}/api/v1/openapi.json`)).json();
const schemas = doc.components.schemas;
const missing = new Map();
const failures = [];
let objects = 0;

function deref(s) {
  if (!s?.$ref) return [s, null];
  const name = s.$ref.split("/").pop();
  return [schemas[name], name];
}

function walk(schema, value, name, where) {
  const [s, ref] = deref(schema);
  name = ref ?? name;
  if (!s || value === null || value === undefined) return;
  if (s.allOf) return s.allOf.forEach((part) => walk(part, value, name, where));
  if (s.oneOf) {
    // `T | null`, or an enum tagged by `kind` (CameraConfig).
    const pick = s.oneOf.filter((x) => x.type !== "null").find((x) => deref(x)[0].properties?.kind?.enum?.includes(value.kind) ?? true);
    return pick && walk(pick, value, name, where);
  }
  if (Array.isArray(value)) return s.items && value.forEach((x, i) => walk(s.items, x, name, `${where}[${i}]`));
  if (typeof value !== "object" || !s.properties) return;
  objects++;
  for (const [k, p] of Object.entries(s.properties)) {
    if (k in value) walk(p, value[k], name, `${where}.${k}`);
    else if (!SKIPPED.has(`${name}.${k}`)) missing.set(`${name}.${k}`, where);
  }
}

/** Calls the API and checks the answer against the document's schema for its status. */
async function check(method, template, path = template, body = undefined) {
  const resp = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await resp.text();
  const json = text ? JSON.parse(text) : null;
  const schema = doc.paths[template]?.[method.toLowerCase()]?.responses?.[String(resp.status)]?.content?.["application/json"]?.schema;
  if (!resp.ok || !schema) failures.push(`${method} ${path}: ${resp.status}${schema ? "" : ", no schema for it in the document"} ${text.slice(0, 200)}`);
  else walk(schema, json, "", `${method} ${path}`);
  return json;
}

// Demo data: desks, registrars, sessions and ratings (flagged ones too) over a few days.
await check("POST", "/api/v1/demo", "/api/v1/demo", { days: 3 });
const desks = await check("GET", "/api/v1/desks");
const registrars = await check("GET", "/api/v1/registrars");
const desk = desks?.[0]?.id;
const registrar = registrars?.[0]?.id;
const page = await check("GET", "/api/v1/ratings", "/api/v1/ratings?limit=500");
const rating = page?.items?.[0]?.id;
if (desk === undefined || registrar === undefined || rating === undefined) failures.push("the demo data has no desk, registrar or rating");
await check("GET", "/api/v1/desks/{id}", `/api/v1/desks/${desk}`);
await check("GET", "/api/v1/registrars/{id}", `/api/v1/registrars/${registrar}`);
await check("GET", "/api/v1/registrars/{id}/low-ratings", `/api/v1/registrars/${registrar}/low-ratings`);
await check("GET", "/api/v1/ratings", "/api/v1/ratings?flagged=true&limit=50");
await check("GET", "/api/v1/ratings/{id}", `/api/v1/ratings/${rating}`);
await check("GET", "/api/v1/ratings/{id}/evidence", `/api/v1/ratings/${rating}/evidence`);
for (const period of ["today", "week", "month"]) await check("GET", "/api/v1/leaderboard", `/api/v1/leaderboard?period=${period}`);
await check("GET", "/api/v1/reports", "/api/v1/reports?period=week");
await check("GET", "/api/v1/settings");
await check("GET", "/api/v1/settings/public");
await check("GET", "/api/v1/desks/{id}/input", `/api/v1/desks/${desk}/input`);
await check("GET", "/api/v1/inputs");
await check("GET", "/api/v1/desks/{id}/evidence", `/api/v1/desks/${desk}/evidence`);
await check("POST", "/api/v1/desks/{id}/pairing", `/api/v1/desks/${desk}/pairing`, { role: "patient" });
await check("GET", "/api/v1/panels");
await check("POST", "/api/v1/notify/pairing");
await check("GET", "/api/v1/notify");
await check("GET", "/api/v1/outbox");
await check("GET", "/api/v1/alerts");
await check("GET", "/api/v1/contests");
await check("GET", "/api/v1/supervisors");
await check("GET", "/api/v1/console");
await check("GET", "/api/v1/setup");
await check("POST", "/api/v1/backups", "/api/v1/backups", {});
await check("GET", "/api/v1/backups");
await check("POST", "/api/v1/events/ticket", "/api/v1/events/ticket", {});
await check("GET", "/api/v1/audit");
await check("GET", "/healthz");

for (const f of failures) console.error(`fields: ${f}`);
for (const [field, where] of missing) console.error(`fields: ${field} is in the document but not in the response (${where})`);
if (failures.length || missing.size) process.exit(1);
console.log(`fields: every property the document lists was in the responses (${objects} objects)`);
