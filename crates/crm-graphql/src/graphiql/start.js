// Starts GraphiQL on this server's /graphql, with /graphql/ws (graphql-transport-ws) for
// subscriptions: the same fetcher async-graphql's GraphiQLSource built, from files the binary
// serves. A file of its own, not an inline script, so the page's Content-Security-Policy can
// forbid inline scripts.
(function () {
  "use strict";
  function endpoint(path, websocket) {
    var url = new URL(path, window.location.origin);
    if (websocket) {
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    }
    return url.toString();
  }
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({
        url: endpoint("/graphql", false),
        subscriptionUrl: endpoint("/graphql/ws", true),
      }),
      defaultEditorToolsVisibility: true,
    })
  );
})();
