// The playground in headless Chromium with no internet: every request that
// leaves the server's origin is blocked and counted. Loads /graphql, waits
// for GraphiQL, runs the default query with the toolbar's button, and checks
// the result, then a subscription (its event arrives after a mutation), the
// absence of CSP violations and of outside requests. Usage:
//   node playground.mjs <server origin> <chromium path> <writer token> <customer id>
import { chromium } from "playwright-core";

const [origin, executablePath = "/usr/bin/chromium", token, customerId] = process.argv.slice(2);
const outside = [];
const problems = [];

function check(condition, message, detail) {
  if (!condition) {
    console.error(`FAILED: ${message}`);
    if (detail !== undefined) console.error(typeof detail === "string" ? detail : JSON.stringify(detail, null, 2));
    process.exit(1);
  }
  console.log(`ok: ${message}`);
}

const browser = await chromium.launch({
  executablePath,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const context = await browser.newContext();
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith("data:")) return route.continue();
    outside.push(url);
    return route.abort("internetdisconnected");
  });
  const page = await context.newPage();
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(msg.text());
  });
  page.on("pageerror", (err) => problems.push(String(err)));

  const response = await page.goto(`${origin}/graphql`, { waitUntil: "load" });
  check(response.status() === 200, "GET /graphql serves the page");
  check(
    (response.headers()["content-security-policy"] || "").includes("default-src 'self'"),
    "under Content-Security-Policy default-src 'self'",
    response.headers(),
  );
  await page.waitForSelector(".graphiql-container", { timeout: 20000 });
  check(true, "GraphiQL renders");
  const headers = await page.evaluate(() => {
    const tab = [...document.querySelectorAll("button")].find((b) => /headers/i.test(b.textContent));
    if (tab) tab.click();
    return document.body.innerText;
  });
  await page.waitForTimeout(300);
  const text = await page.evaluate(() =>
    [...document.querySelectorAll(".graphiql-editor-tool .CodeMirror-code, .graphiql-editor-tool .cm-content")].map((e) => e.textContent).join("\n"),
  );
  check(/api token --role writer/.test(text + headers), "the Headers tab says where a token comes from", text);
  check(!/Bearer ey/.test(text + headers), "and shows no token");

  await page.click(".graphiql-execute-button");
  await page.waitForFunction(
    () => /"totalCount"/.test(document.querySelector(".graphiql-response")?.textContent || ""),
    null,
    { timeout: 20000 },
  );
  const result = await page.evaluate(() => document.querySelector(".graphiql-response").textContent);
  check(/"customers"/.test(result) && !/"errors"/.test(result), "the default query runs and answers", result);

  // A subscription: typed into the editor, run with the same button; its
  // event shows once an order is created.
  await page.click(".graphiql-query-editor .CodeMirror, .graphiql-query-editor .cm-content");
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(`subscription { orderCreated(customerId: "${customerId}") { id total } }`);
  // GraphiQL parses the editor's text after a short pause; it runs a
  // subscription over the WebSocket once it knows the operation's type.
  await page.waitForTimeout(1000);
  await page.click(".graphiql-execute-button");
  await page.waitForTimeout(1000);
  const write = await fetch(`${origin}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: "mutation($c: ID!) { createOrder(input: {customerId: $c, total: \"7.77\"}) { id } }",
      variables: { c: customerId },
    }),
  }).then((r) => r.json());
  check(!write.errors, "a mutation over HTTP", write);
  await page
    .waitForFunction(
      () => /"orderCreated"/.test(document.querySelector(".graphiql-response")?.textContent || ""),
      null,
      { timeout: 20000 },
    )
    .catch(async () => {
      const shown = await page.evaluate(() => ({
        editor: document.querySelector(".graphiql-query-editor")?.textContent,
        response: document.querySelector(".graphiql-response")?.textContent,
      }));
      check(false, "the subscription's event shows", { shown, problems });
    });
  const event = await page.evaluate(() => document.querySelector(".graphiql-response").textContent);
  check(
    event.includes(`"${write.data.createOrder.id}"`) && event.includes("7.77"),
    "GraphiQL runs a subscription over the WebSocket and shows its event",
    event,
  );
  check(outside.length === 0, "nothing was fetched from outside the server", outside);
  const csp = problems.filter((p) => /Content Security Policy|Refused to/i.test(p));
  check(csp.length === 0, "no CSP violation", csp);
  console.log("all playground checks passed");
} finally {
  await browser.close();
}
