// Subscriptions as frontends run them: the graphql-ws client (what urql's
// subscriptionExchange and GraphiQL use) and Apollo Client 4 with
// GraphQLWsLink, each subscribing, then a mutation over HTTP, then the
// event. Also: an invalid token in connection_init ends the client with
// 4403, and a completed subscription hears nothing more. Usage:
//   node subscriptions.mjs <graphql URL> <writer token> <customer id>
// Exits non-zero, saying what differed, unless every check holds.
import WebSocket from "ws";
import { createClient } from "graphql-ws";
import { ApolloClient, HttpLink, InMemoryCache, gql, split } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";

const [url, token, customerId] = process.argv.slice(2);
const wsUrl = url.replace(/^http/, "ws");

function check(condition, message, detail) {
  if (!condition) {
    console.error(`FAILED: ${message}`);
    if (detail !== undefined) console.error(JSON.stringify(detail, null, 2));
    process.exit(1);
  }
  console.log(`ok: ${message}`);
}

function within(ms, promise, what) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)),
  ]);
}

async function createOrder(total) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: "mutation($c: ID!, $t: Decimal!) { createOrder(input: {customerId: $c, total: $t}) { id } }",
      variables: { c: customerId, t: total },
    }),
  });
  const body = await response.json();
  check(!body.errors, `createOrder ${total} succeeds`, body);
  return body.data.createOrder.id;
}

const ORDER_CREATED = "subscription($c: ID) { orderCreated(customerId: $c) { id total status customer { id } } }";

// 1. graphql-ws, with the token in connection_init.
{
  let connected = 0;
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
    retryAttempts: 0,
    on: { connected: () => connected++ },
  });
  const received = [];
  let resolveFirst;
  const first = new Promise((resolve) => (resolveFirst = resolve));
  const stop = client.subscribe(
    { query: ORDER_CREATED, variables: { c: customerId } },
    {
      next: (result) => {
        received.push(result);
        resolveFirst();
      },
      error: (e) => received.push({ error: String(e && e.code) }),
      complete: () => {},
    },
  );
  // The subscription listens once the socket is acknowledged and the
  // operation sent; give it a moment before writing.
  await within(10000, new Promise((resolve) => {
    const t = setInterval(() => connected && (clearInterval(t), resolve()), 10);
  }), "connection_ack");
  await new Promise((r) => setTimeout(r, 200));
  const id = await createOrder("3.25");
  await within(10000, first, "the orderCreated event");
  check(
    received.length === 1 &&
      received[0].data.orderCreated.id === id &&
      received[0].data.orderCreated.total === "3.25" &&
      received[0].data.orderCreated.customer.id === customerId,
    "graphql-ws receives the committed order",
    received,
  );
  stop();
  await new Promise((r) => setTimeout(r, 200));
  await createOrder("4.00");
  await new Promise((r) => setTimeout(r, 500));
  check(received.length === 1, "a completed subscription hears nothing more", received);
  await client.dispose();
}

// 2. An invalid token: the socket closes with 4403 and the client reports it.
{
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: "Bearer not-a-token" },
    retryAttempts: 0,
  });
  const code = await within(
    10000,
    new Promise((resolve) => {
      client.subscribe(
        { query: ORDER_CREATED },
        { next: () => resolve("next"), error: (e) => resolve(e && e.code), complete: () => resolve("complete") },
      );
    }),
    "the refusal",
  );
  check(code === 4403, "an invalid token closes the socket with 4403", code);
  await client.dispose();
}

// 3. Apollo Client: HTTP for queries and mutations, GraphQLWsLink for subscriptions.
{
  let connected = 0;
  const wsClient = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    on: { connected: () => connected++ },
  });
  const link = split(
    ({ query }) => {
      const def = getMainDefinition(query);
      return def.kind === "OperationDefinition" && def.operation === "subscription";
    },
    new GraphQLWsLink(wsClient),
    new HttpLink({ uri: url, headers: { authorization: `Bearer ${token}` } }),
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const events = [];
  let resolveEvent;
  const event = new Promise((resolve) => (resolveEvent = resolve));
  const subscription = client
    .subscribe({ query: gql(ORDER_CREATED), variables: { c: customerId } })
    .subscribe({
      next: (result) => {
        events.push(result);
        resolveEvent();
      },
      error: (e) => {
        events.push({ error: String(e) });
        resolveEvent();
      },
    });
  await within(10000, new Promise((resolve) => {
    const t = setInterval(() => connected && (clearInterval(t), resolve()), 10);
  }), "Apollo's connection_ack");
  await new Promise((r) => setTimeout(r, 200));
  const created = await client.mutate({
    mutation: gql`mutation($c: ID!) { createOrder(input: {customerId: $c, total: "9.99", status: PAID}) { id } }`,
    variables: { c: customerId },
  });
  const id = created.data.createOrder.id;
  await within(10000, event, "Apollo's subscription event");
  check(
    events.length === 1 && events[0].data && events[0].data.orderCreated.id === id &&
      events[0].data.orderCreated.status === "PAID",
    "Apollo Client's GraphQLWsLink receives the order",
    events,
  );
  const normalized = client.cache.extract()[`Order:${id}`];
  check(normalized && normalized.total === "9.99", "and normalizes it into the cache", normalized);
  subscription.unsubscribe();
  await wsClient.dispose();
}

console.log("all subscription client checks passed");
