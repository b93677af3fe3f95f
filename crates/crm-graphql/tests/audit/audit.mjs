// Runs the graphql-http server audits (GraphQL-over-HTTP spec conformance) against a running
// server, every request carrying a bearer token, and a graphql-ws client round trip.
// Usage: node audit.mjs <http url of /graphql> <ws url of /graphql/ws> <bearer token>
// Exits non-zero listing every audit that did not pass, warnings ("SHOULD"/"MAY") included.
import { serverAudits } from 'graphql-http';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, wsUrl, token] = process.argv.slice(2);
if (!url || !wsUrl || !token) {
  console.error('usage: node audit.mjs <url> <ws url> <token>');
  process.exit(2);
}

const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers ?? {});
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const failures = [];
const results = await Promise.all(serverAudits({ url, fetchFn }).map(({ fn }) => fn()));
for (const result of results) {
  if (result.status !== 'ok') {
    let detail = result.reason;
    if (result.response) {
      const body = await result.response.text().catch(() => '');
      detail += ` (status ${result.response.status}, body ${body.slice(0, 300)})`;
    }
    failures.push(`${result.id} ${result.name}: ${detail}`);
  }
}
console.log(`graphql-http: ${results.length - failures.length} of ${results.length} audits passed`);

// graphql-ws: a query and a subscription's first event over graphql-transport-ws.
const client = createClient({
  url: wsUrl,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 0,
  lazy: true,
});
const once = (payload) =>
  new Promise((resolve, reject) => {
    let result;
    const dispose = client.subscribe(payload, {
      next: (value) => {
        result = value;
        if (payload.stopAfterFirst) {
          dispose();
          resolve(result);
        }
      },
      error: reject,
      complete: () => resolve(result),
    });
  });
try {
  const me = await once({ query: '{ me { role } }' });
  if (me?.data?.me?.role !== 'AUDITOR') {
    failures.push(`graphql-ws query: unexpected result ${JSON.stringify(me)}`);
  }
  const status = await once({ query: '{ logStatus { headPosition } }' });
  if (typeof status?.data?.logStatus?.headPosition !== 'number') {
    failures.push(`graphql-ws logStatus: unexpected result ${JSON.stringify(status)}`);
  }
  const event = await once({
    query: 'subscription { eventsAppended(after: 0) { position stream } }',
    stopAfterFirst: true,
  });
  if (event?.data?.eventsAppended?.position !== 1) {
    failures.push(`graphql-ws subscription: unexpected result ${JSON.stringify(event)}`);
  } else {
    console.log('graphql-ws: query and subscription passed');
  }
} catch (e) {
  failures.push(`graphql-ws: ${e?.message ?? JSON.stringify(e)}`);
} finally {
  await client.dispose();
}

if (failures.length > 0) {
  console.error(`failed:\n${failures.join('\n')}`);
  process.exit(1);
}
