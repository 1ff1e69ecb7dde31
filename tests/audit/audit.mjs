// Runs graphql-http's GraphQL-over-HTTP server audits against a live server and prints one
// JSON object per line: {id, name, status, reason?, body?}. Usage:
//   node audit.mjs URL [BEARER_TOKEN]
// With a token every audit request carries `Authorization: Bearer TOKEN` (a production
// server refuses anonymous requests before parsing them).
import { serverAudits } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url) {
  console.error('usage: node audit.mjs URL [BEARER_TOKEN]');
  process.exit(2);
}

function fetchWithToken(input, init = {}) {
  if (!token) return fetch(input, init);
  const headers = new Headers(init.headers || {});
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

for (const audit of serverAudits({ url, fetchFn: fetchWithToken })) {
  const result = await audit.fn();
  const line = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    line.reason = result.reason;
    try {
      line.body = await result.response.text();
    } catch {
      line.body = null;
    }
  }
  console.log(JSON.stringify(line));
}
