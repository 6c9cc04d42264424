// Apollo Client 4 as a frontend uses it: an HttpLink behind a
// PersistedQueryLink (hashes over GET), a normalized cache, a mutation with
// a writer token, and a field error with errorPolicy "all". Usage:
//   node apollo.mjs <graphql URL> <writer token>
// Exits non-zero, saying what differed, unless every check holds.
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

const [url, token] = process.argv.slice(2);
const sent = [];

async function recordingFetch(input, init) {
  const response = await fetch(input, init);
  const target = new URL(typeof input === "string" ? input : input.url);
  const body = init && init.body ? JSON.parse(init.body) : null;
  sent.push({
    method: (init && init.method) || "GET",
    hasQuery: Boolean(target.searchParams.get("query") || (body && body.query)),
    hasHash: Boolean(target.searchParams.get("extensions") || (body && body.extensions && body.extensions.persistedQuery)),
    accept: new Headers(init && init.headers).get("accept"),
    status: response.status,
  });
  return response;
}

function check(condition, message, detail) {
  if (!condition) {
    console.error(`FAILED: ${message}`);
    if (detail !== undefined) console.error(JSON.stringify(detail, null, 2));
    process.exit(1);
  }
  console.log(`ok: ${message}`);
}

const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const http = new HttpLink({ uri: url, fetch: recordingFetch, headers: { authorization: `Bearer ${token}` } });
const client = new ApolloClient({
  link: new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(http),
  cache: new InMemoryCache(),
});

const CUSTOMERS = gql`
  query Customers($first: Int) {
    customers(first: $first) {
      totalCount
      nodes { id name email orderCount totalSpent createdAt }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

// 1. First use: the hash alone over GET is unknown, then the document is POSTed.
const first = await client.query({ query: CUSTOMERS, variables: { first: 2 } });
check(first.data.customers.nodes.length === 2, "the first query answers", first);
check(
  sent.length === 2 && sent[0].method === "GET" && !sent[0].hasQuery && sent[0].hasHash &&
    sent[0].status === 200 && sent[1].method === "POST" && sent[1].hasQuery,
  "an unknown hash is answered so that the link sends the document once",
  sent,
);
check(
  /application\/graphql-response\+json/.test(sent[1].accept || ""),
  "the link asks for application/graphql-response+json",
  sent[1],
);

// 2. Afterwards the hash alone is enough.
const again = await client.query({ query: CUSTOMERS, variables: { first: 1 }, fetchPolicy: "network-only" });
check(again.data.customers.nodes.length === 1, "the hash alone answers", again);
check(sent.length === 3 && sent[2].method === "GET" && !sent[2].hasQuery && sent[2].status === 200, "over GET, without the document", sent);

// 3. A mutation, then the normalized cache holds the new customer.
const email = `apollo-${Date.now()}@example.com`;
const created = await client.mutate({
  mutation: gql`mutation Create($input: CreateCustomerInput!) { createCustomer(input: $input) { id name email } }`,
  variables: { input: { name: "Apollo Tester", email } },
});
const id = created.data.createCustomer.id;
check(created.data.createCustomer.email === email, "a writer's mutation succeeds", created);
const cached = client.cache.readFragment({ id: `Customer:${id}`, fragment: gql`fragment C on Customer { id name email }` });
check(cached && cached.name === "Apollo Tester", "the cache normalized the created customer", cached);

// 4. A failed nullable field is null with its error; the rest is intact.
const partial = await client.query({
  query: gql`query Partial($id: ID!) { ok: customer(id: $id) { id name } bad: customer(id: "abc") { id } }`,
  variables: { id },
  errorPolicy: "all",
  fetchPolicy: "network-only",
});
check(partial.data.ok.name === "Apollo Tester" && partial.data.bad === null, "a failed nullable field is null", partial);
check(partial.error && partial.error.errors.length === 1 && partial.error.errors[0].extensions.code === "BAD_USER_INPUT", "with exactly one coded error", partial.error);

console.log("all Apollo Client checks passed");
