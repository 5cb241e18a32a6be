// VisionFlow's GraphiQL bootstrap: same-origin HTTP for queries and mutations, the
// /graphql/ws websocket (graphql-transport-ws) for subscriptions. No network access beyond
// this server is needed.
(function () {
  var wsProto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  function authHeaders() {
    try {
      return JSON.parse(localStorage.getItem('graphiql:headers') || '{}');
    } catch (e) {
      return {};
    }
  }
  var fetcher = GraphiQL.createFetcher({
    url: location.origin + '/graphql',
    subscriptionUrl: wsProto + '//' + location.host + '/graphql/ws',
    wsConnectionParams: function () { return authHeaders(); },
  });
  var defaultQuery = [
    '# Welcome to VisionFlow.',
    '#',
    '# 1. Run `register`, then `login` below.',
    '# 2. Put {"Authorization": "Bearer <accessToken>"} in the Headers tab.',
    '# 3. Run `me`, create API keys, or subscribe to `accountEvents`.',
    '',
    'mutation Register {',
    '  register(input: {username: "demo_user", email: "demo@example.com", password: "a-long-password"}) { id username }',
    '}',
    '',
    'mutation Login {',
    '  login(input: {username: "demo_user", password: "a-long-password"}) { accessToken refreshToken expiresIn }',
    '}',
    '',
    'query Me {',
    '  me { id username email createdAt apiKeys { name prefix scopes active } }',
    '}',
    '',
  ].join('\n');
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: defaultQuery,
    shouldPersistHeaders: true,
    defaultEditorToolsVisibility: true,
  }));
})();
