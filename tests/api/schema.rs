//! `schema.graphql` is the printed schema, and every stored REST operation is valid
//! against it.

use std::sync::Arc;

use async_graphql::{
    Request, Response, Schema, Value,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute},
};
use visionflow::graphql::{Mutation, Query, Subscription, sdl};

#[test]
fn schema_file_matches_the_printed_schema() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let on_disk = std::fs::read_to_string(path).expect("schema.graphql exists");
    assert!(
        on_disk == sdl(),
        "schema.graphql has drifted from the code: run `cargo run -- schema > schema.graphql`"
    );
}

/// Stops every request after validation: nothing executes.
struct ValidateOnly;

impl ExtensionFactory for ValidateOnly {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ValidateOnlyExt)
    }
}

struct ValidateOnlyExt;

#[async_trait::async_trait]
impl Extension for ValidateOnlyExt {
    async fn execute(
        &self,
        _ctx: &ExtensionContext<'_>,
        _operation_name: Option<&str>,
        _next: NextExecute<'_>,
    ) -> Response {
        Response::new(Value::Null)
    }
}

fn validating_schema() -> Schema<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .extension(ValidateOnly)
    .finish()
}

#[tokio::test]
async fn every_stored_operation_validates_against_the_schema() {
    let schema = validating_schema();
    let mut count = 0;
    for group in rest_compat::groups() {
        for route in group.routes {
            let op = &route.operation;
            let resp = schema
                .execute(Request::new(op.source).operation_name(op.name.clone()))
                .await;
            assert!(
                resp.errors.is_empty(),
                "{} ({} {}): {:?}",
                op.file,
                route.method,
                route.path,
                resp.errors
            );
            count += 1;
        }
    }
    assert!(count >= 3, "the monitor group's account routes at least");
}

#[tokio::test]
async fn the_validation_check_can_fail() {
    let schema = validating_schema();
    let resp = schema
        .execute(Request::new(
            "mutation Bad($x: String!) { login(input: {username: $x}) { nope } }",
        ))
        .await;
    assert!(!resp.errors.is_empty());
}
