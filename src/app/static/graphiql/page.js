// segments: GraphiQL whose every request carries the API token kept in this browser
// (localStorage) as "Authorization: Bearer <token>", unless the Headers tab sets its own.
(function () {
  "use strict";
  var KEY = "segments.token";
  var DEFAULT_QUERY = "{\n  viewer {\n    id\n    name\n  }\n}\n";
  var input = document.getElementById("token");
  var state = document.getElementById("token-state");
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  var generation = 0;

  // A link may carry the token in its fragment (#token=...), which never reaches a server.
  var given = /^#token=(.+)$/.exec(window.location.hash);
  if (given) {
    window.localStorage.setItem(KEY, decodeURIComponent(given[1]));
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }

  function token() {
    return (window.localStorage.getItem(KEY) || "").trim();
  }

  function withToken(resource, init) {
    var options = Object.assign({}, init);
    var headers = new Headers(options.headers || {});
    if (token() && !headers.has("Authorization")) {
      headers.set("Authorization", "Bearer " + token());
    }
    options.headers = headers;
    return window.fetch(resource, options);
  }

  // The page is served by the endpoint itself (GET /graphql): queries go back to it.
  var fetcher = GraphiQL.createFetcher({ url: window.location.pathname, fetch: withToken });

  function render() {
    state.textContent = token()
      ? "set, kept in this browser"
      : "none: queries answer 401 until you paste one";
    generation += 1; // a new key remounts GraphiQL, which asks for the schema again
    root.render(
      React.createElement(GraphiQL, {
        key: generation,
        fetcher: fetcher,
        defaultQuery: DEFAULT_QUERY,
        isHeadersEditorEnabled: true,
      })
    );
  }

  document.getElementById("token-bar").addEventListener("submit", function (event) {
    event.preventDefault();
    window.localStorage.setItem(KEY, input.value.trim());
    input.value = "";
    render();
  });
  document.getElementById("forget").addEventListener("click", function () {
    window.localStorage.removeItem(KEY);
    render();
  });
  render();
})();
