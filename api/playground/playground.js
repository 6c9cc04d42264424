// Starts GraphiQL on the page /graphql serves. A file of its own (no inline
// script), so the page works under `Content-Security-Policy: default-src 'self'`.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var config = JSON.parse(root.getAttribute("data-config"));
  var endpoint = new URL(config.endpoint, window.location.href);
  var socket = new URL(config.endpoint, window.location.href);
  socket.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

  // The Headers tab starts with a placeholder, never a real token; until it
  // is replaced the placeholder is not sent.
  function isPlaceholder(name, value) {
    return /^authorization$/i.test(name) && /^Bearer\s*<.*>$/.test(String(value).trim());
  }

  function sendable(headers) {
    var out = {};
    Object.keys(headers || {}).forEach(function (name) {
      if (!isPlaceholder(name, headers[name])) {
        out[name] = headers[name];
      }
    });
    return out;
  }

  function fetchWithoutPlaceholders(url, init) {
    var options = Object.assign({}, init);
    options.headers = sendable(init && init.headers);
    return window.fetch(url, options);
  }

  // Subscriptions run over the WebSocket; its `connection_init` carries the
  // Authorization header of the Headers tab as it was when the socket opened.
  var lastHeaders = {};
  function authorization() {
    var out = {};
    Object.keys(lastHeaders).forEach(function (name) {
      if (/^authorization$/i.test(name)) {
        out.Authorization = lastHeaders[name];
      }
    });
    return out;
  }

  var fetcherOptions = { url: endpoint.href, fetch: fetchWithoutPlaceholders };
  if (config.subscriptions && window.graphqlWs) {
    fetcherOptions.wsClient = window.graphqlWs.createClient({
      url: socket.href,
      lazy: true,
      connectionParams: authorization
    });
  }
  var baseFetcher = GraphiQL.createFetcher(fetcherOptions);
  function fetcher(params, options) {
    lastHeaders = sendable(options && options.headers);
    return baseFetcher(params, options);
  }

  var graphiql = React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: config.defaultQuery,
    defaultHeaders: JSON.stringify({ Authorization: config.tokenPlaceholder }, null, 2),
    shouldPersistHeaders: false
  });
  ReactDOM.createRoot(root).render(graphiql);
})();
