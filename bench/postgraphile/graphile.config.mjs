// PostGraphile v5 configuration for the benchmark (bench/compare.py runs it from a temporary
// folder where it installed postgraphile@5). Environment:
//   BENCH_PGL_DATABASE_URL  postgres://gongzhi_bench_pgl@127.0.0.1:5432/gongzhi_bench_s0_1 (a role
//                           subject to RLS, see rls.sql)
//   BENCH_JWT_SECRET        the HS256 secret gongzhi verifies the same tokens with
//   BENCH_PGL_PORT          port (default 5678)
// Every request must carry a bearer token; its verified claims become pgSettings:
// app.tenant_id (tid), app.user_id (sub), app.role, app.scope_path, app.firm_id.
import { createHmac, timingSafeEqual } from "node:crypto";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

const SECRET = process.env.BENCH_JWT_SECRET;
if (!SECRET) throw new Error("BENCH_JWT_SECRET is required");

function b64url(buf) {
  return Buffer.from(buf).toString("base64").replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

function verify(header) {
  const m = /^Bearer\s+(.+)$/i.exec(header || "");
  if (!m) throw new Error("missing bearer token");
  const [h, p, s] = m[1].split(".");
  const expected = Buffer.from(b64url(createHmac("sha256", SECRET).update(`${h}.${p}`).digest()));
  const given = Buffer.from(s || "");
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new Error("bad signature");
  if (JSON.parse(Buffer.from(h, "base64url").toString()).alg !== "HS256") throw new Error("bad alg");
  const claims = JSON.parse(Buffer.from(p, "base64url").toString());
  const now = Math.floor(Date.now() / 1000);
  if (claims.iss !== "gongzhi" || claims.aud !== "gongzhi" || !(claims.exp > now)) throw new Error("bad claims");
  return claims;
}

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.BENCH_PGL_DATABASE_URL,
      schemas: ["public"],
      poolConfig: { max: Number(process.env.BENCH_PGL_POOL || 10) },
    }),
  ],
  grafast: {
    explain: false,
    context(requestContext) {
      const req = requestContext.node?.req;
      let claims;
      try {
        claims = verify(req?.headers?.authorization);
      } catch (e) {
        // No valid token: a setting that matches no tenant, so RLS shows nothing.
        return { pgSettings: { "app.tenant_id": "00000000-0000-0000-0000-000000000000", "app.role": "none" } };
      }
      return {
        pgSettings: {
          "app.tenant_id": String(claims.tid),
          "app.user_id": String(claims.sub),
          "app.role": String(claims.role),
          "app.scope_path": String(claims.scope_path),
          "app.firm_id": claims.firm_id ? String(claims.firm_id) : "",
        },
      };
    },
  },
  grafserv: {
    port: Number(process.env.BENCH_PGL_PORT || 5678),
    host: "127.0.0.1",
    graphqlPath: "/graphql",
    graphiql: false,
    watch: false,
  },
  schema: {
    exportSchemaSDLPath: process.env.BENCH_PGL_SDL || undefined,
  },
};

export default preset;
