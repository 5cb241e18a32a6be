//! GraphiQL is served by VisionFlow itself: no asset comes from the internet.

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn graphiql_page_and_assets_are_local() {
    let app = TestApp::spawn().await;
    let r = app.get("/graphql", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("<div id=\"graphiql\">"));
    let refs: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with("/graphiql/") || s.starts_with("http"))
        .collect();
    assert_eq!(refs.len(), 5, "{refs:?}");
    for r in &refs {
        assert!(r.starts_with("/graphiql/"), "external asset {r}");
    }
    for path in refs {
        let a = app.get(path, &[]).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        let ct = a.headers["content-type"]
            .to_str()
            .expect("ascii")
            .to_owned();
        if path.ends_with(".css") {
            assert!(ct.starts_with("text/css"), "{path}: {ct}");
        } else {
            assert!(ct.starts_with("text/javascript"), "{path}: {ct}");
        }
        assert!(a.body.len() > 500, "{path}");
    }
    let js = app.get("/graphiql/graphiql.min.js", &[]).await.text();
    assert!(js.contains("createGraphiQLFetcher"));
    let init = app.get("/graphiql/init.js", &[]).await.text();
    assert!(init.contains("/graphql/ws"));
    assert_eq!(
        app.get("/graphiql/../Cargo.toml", &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_ide_can_introspect_the_schema() {
    let app = TestApp::spawn().await;
    let r = app
        .graphql(
            "{ __schema { queryType { name } mutationType { name } subscriptionType { name } } }",
            json!({}),
            &[],
        )
        .await;
    assert_eq!(
        r["data"]["__schema"],
        json!({"queryType": {"name": "Query"}, "mutationType": {"name": "Mutation"}, "subscriptionType": {"name": "Subscription"}})
    );
}
