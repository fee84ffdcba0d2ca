// The graphql-http audit suite against a running server: GONGZHI_AUDIT_URL and a bearer token in
// GONGZHI_AUDIT_TOKEN (every gongzhi request is authenticated). Prints one line per audit and a
// summary; exits non-zero unless every audit (MUST, SHOULD and MAY) is ok.
import { auditServer } from 'graphql-http';

const url = process.env.GONGZHI_AUDIT_URL;
const token = process.env.GONGZHI_AUDIT_TOKEN;
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
const counts = { ok: 0, warn: 0, error: 0 };
for (const r of results) {
  counts[r.status] += 1;
  const why = r.status === 'ok' ? '' : ` — ${r.reason}`;
  console.log(`${r.status.toUpperCase().padEnd(5)} ${r.name}${why}`);
}
const musts = results.filter((r) => r.name.startsWith('MUST'));
const mustFailed = musts.filter((r) => r.status !== 'ok').length;
const notOk = results.length - counts.ok;
console.log(`audit: ${counts.ok} ok of ${results.length}, ${counts.warn} warnings, ${counts.error} errors; MUST failed: ${mustFailed}`);
// Every audit ok (issue #24): MUST, SHOULD and MAY alike.
process.exit(notOk ? 1 : 0);
