//! Everything decided about a GraphQL request before the schema runs it, shared by HTTP and
//! WebSocket: the parameters' shape, a nesting check on the raw text (so no document can exhaust
//! the parser's stack), parsing, choosing the operation, the alias limit, the cost of the
//! selection as executed ([`selection_cost`]) and non-null variables.
//!
//! Errors here are *request errors* in the GraphQL-over-HTTP sense: the request never reaches
//! execution, and a response to it carries no `data`. async-graphql's own pre-execution checks
//! (validation, depth, complexity, directives) are classified the same way by [`PhaseExtension`],
//! which also records whether execution began.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationDefinition, OperationType,
    Selection, SelectionSet,
};
use async_graphql::parser::Positioned;
use async_graphql::{ServerError, ServerResult, ValidationResult, Variables};
use serde_json::{Map, Value as Json};

use crate::config::Limits;
use crate::error::{ApiError, Code, Limit};

mod cost;
pub mod weights;

pub(crate) use cost::{selection_cost, SchemaShape, AS_OF_COST};

/// The parameters of a GraphQL request, checked for shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: Map<String, Json>,
}

impl Params {
    /// From a JSON request body (POST) or a payload of a WebSocket `subscribe` message.
    pub fn from_json(value: Json) -> Result<Params, ApiError> {
        let Json::Object(mut map) = value else {
            return Err(ApiError::BadRequest(
                "the request must be a JSON object".into(),
            ));
        };
        let query = match map.remove("query") {
            Some(Json::String(q)) => q,
            Some(_) => return Err(ApiError::BadRequest("'query' must be a string".into())),
            None => return Err(ApiError::BadRequest("'query' is missing".into())),
        };
        let operation_name = match map.remove("operationName") {
            None | Some(Json::Null) => None,
            Some(Json::String(name)) => Some(name),
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "'operationName' must be a string or null".into(),
                ))
            }
        };
        let variables = match map.remove("variables") {
            None | Some(Json::Null) => Map::new(),
            Some(Json::Object(v)) => v,
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "'variables' must be an object or null".into(),
                ))
            }
        };
        // Extensions are accepted (the spec reserves them) but none is understood yet.
        match map.remove("extensions") {
            None | Some(Json::Null) | Some(Json::Object(_)) => {}
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "'extensions' must be an object or null".into(),
                ))
            }
        }
        Ok(Params {
            query,
            operation_name,
            variables,
        })
    }

    /// From the URL query of a GET: `variables` and `extensions` are JSON text.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Params, ApiError> {
        let mut map = Map::new();
        for (key, value) in pairs {
            if map.contains_key(&key) {
                return Err(ApiError::BadRequest(format!("'{key}' is given twice")));
            }
            let value = match key.as_str() {
                "variables" | "extensions" => serde_json::from_str(&value)
                    .map_err(|_| ApiError::BadRequest(format!("'{key}' must be JSON text")))?,
                _ => Json::String(value),
            };
            map.insert(key, value);
        }
        Params::from_json(Json::Object(map))
    }
}

/// Query fields that append to the log (a view of personal data goes into the viewer's access
/// log before it is shown), so a query selecting one is not safe and is refused over GET.
pub const RECORDING_FIELDS: &[&str] = &["sensitive", "customerHistory", "customerLookup"];

/// A request ready for the schema.
#[derive(Debug)]
pub struct Prepared {
    pub request: async_graphql::Request,
    pub operation: OperationType,
    /// A field of [`RECORDING_FIELDS`] the document selects anywhere (in any operation or
    /// fragment, under any alias), if one.
    pub records: Option<&'static str>,
    /// Set once validation passed: from then on the response carries `data`.
    pub executed: ExecutionStarted,
}

/// Shared between a transport and [`PhaseExtension`] through the request's data.
#[derive(Debug, Clone, Default)]
pub struct ExecutionStarted(Arc<AtomicBool>);

impl ExecutionStarted {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

pub fn operation_type_name(t: OperationType) -> &'static str {
    match t {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// Checks and parses `params`; the returned request still lacks the caller. Without
/// `introspection`, a document asking for `__schema` or `__type` is refused outright (async-graphql
/// would silently answer null, which reads as an empty schema rather than a refusal).
pub fn prepare(params: Params, limits: &Limits, introspection: bool) -> Result<Prepared, ApiError> {
    let nesting = nesting_depth(&params.query);
    if nesting > limits.recursive_depth_max {
        return Err(ApiError::limit(
            Limit::RecursiveDepth,
            format!(
                "the document nests {nesting} levels deep; at most {} are allowed",
                limits.recursive_depth_max
            ),
        ));
    }
    let document = async_graphql::parser::parse_query(&params.query)
        .map_err(|e| ApiError::Parse(e.to_string()))?;
    let operation = select_operation(&document, params.operation_name.as_deref())?;
    let operation_type = operation.ty;
    let Walk {
        aliases,
        introspects,
        records,
    } = walk_fields(&document);
    if introspects && !introspection {
        return Err(ApiError::GraphqlValidation(
            "introspection is disabled on this server; the schema is published as SDL".into(),
        ));
    }
    if aliases > limits.aliases_max {
        return Err(ApiError::limit(
            Limit::Aliases,
            format!(
                "the document has {aliases} aliases; at most {} are allowed",
                limits.aliases_max
            ),
        ));
    }
    check_variables(operation, &params.variables)?;
    let cost = selection_cost(
        &document,
        operation,
        &params.variables,
        u64::from(limits.page_size_max),
    );
    if cost > limits.selection_cost_max {
        return Err(ApiError::limit(
            Limit::SelectionCost,
            format!(
                "the selection as executed costs {cost}; at most {} is allowed (each field \
                 counts its weight each time it runs: 1 from memory, {} from disk, {} for the \
                 log, {} for a pass over a book, {AS_OF_COST} for the whole log or `asOf`; \
                 fragments expanded; the sub-selection of a paged field times its \
                 `first`/`last` or {}, of a list times its bound)",
                limits.selection_cost_max,
                weights::DISK,
                weights::LOG,
                weights::BOOK,
                limits.page_size_max
            ),
        ));
    }
    let executed = ExecutionStarted::default();
    let mut request = async_graphql::Request::new(params.query)
        .variables(Variables::from_json(Json::Object(params.variables)))
        .data(executed.clone());
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    request.set_parsed_query(document);
    Ok(Prepared {
        request,
        operation: operation_type,
        records,
        executed,
    })
}

fn select_operation<'d>(
    document: &'d ExecutableDocument,
    name: Option<&str>,
) -> Result<&'d OperationDefinition, ApiError> {
    match (&document.operations, name) {
        (DocumentOperations::Single(op), None) => Ok(&op.node),
        (DocumentOperations::Single(_), Some(name)) => Err(ApiError::GraphqlValidation(format!(
            "unknown operation named \"{name}\""
        ))),
        (DocumentOperations::Multiple(ops), Some(name)) => {
            ops.get(name).map(|op| &op.node).ok_or_else(|| {
                ApiError::GraphqlValidation(format!("unknown operation named \"{name}\""))
            })
        }
        (DocumentOperations::Multiple(ops), None) => {
            let mut all = ops.values();
            match (all.next(), all.next()) {
                (Some(op), None) => Ok(&op.node),
                _ => Err(ApiError::GraphqlValidation(
                    "the document has several operations; name one in operationName".into(),
                )),
            }
        }
    }
}

/// Deepest nesting of `{`, `(` and `[` outside strings and comments. A linear scan with no
/// recursion, so it is safe on any input; the parser runs only on documents it admits.
pub(crate) fn nesting_depth(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut max) = (0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // A block string escapes only \""" ; skip it whole.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    max
}

/// What [`walk_fields`] finds.
struct Walk {
    aliases: usize,
    introspects: bool,
    records: Option<&'static str>,
}

/// Aliased fields in all operations and fragments, each counted where it is written, whether
/// any field is `__schema` or `__type`, and a field that records an access, if any.
fn walk_fields(document: &ExecutableDocument) -> Walk {
    let mut stack: Vec<&Positioned<SelectionSet>> = Vec::new();
    for (_, op) in document.operations.iter() {
        stack.push(&op.node.selection_set);
    }
    for fragment in document.fragments.values() {
        stack.push(&fragment.node.selection_set);
    }
    let mut aliases = 0usize;
    let mut introspects = false;
    let mut records = None;
    while let Some(set) = stack.pop() {
        for selection in &set.node.items {
            match &selection.node {
                Selection::Field(field) => {
                    if field.node.alias.is_some() {
                        aliases += 1;
                    }
                    let name = field.node.name.node.as_str();
                    introspects |= name == "__schema" || name == "__type";
                    if records.is_none() {
                        records = RECORDING_FIELDS.iter().copied().find(|f| *f == name);
                    }
                    stack.push(&field.node.selection_set);
                }
                Selection::InlineFragment(inline) => stack.push(&inline.node.selection_set),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    Walk {
        aliases,
        introspects,
        records,
    }
}

/// Variable coercion for what can be decided without the schema: a non-null variable without a
/// default must be given and not null, and built-in scalars must have the right JSON kind.
/// Failing it is a request error, as the spec says; the rest is coerced by the schema.
fn check_variables(
    operation: &OperationDefinition,
    values: &Map<String, Json>,
) -> Result<(), ApiError> {
    for definition in &operation.variable_definitions {
        let definition = &definition.node;
        let name = definition.name.node.as_str();
        let ty = &definition.var_type.node;
        match values.get(name) {
            None | Some(Json::Null) => {
                if !ty.nullable && definition.default_value.is_none() {
                    return Err(ApiError::GraphqlValidation(format!(
                        "variable \"${name}\" of non-null type \"{ty}\" must not be null"
                    )));
                }
            }
            Some(value) => {
                if !fits_builtin(&ty.base, value) {
                    return Err(ApiError::GraphqlValidation(format!(
                        "variable \"${name}\" got a value that is not a \"{ty}\""
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Whether `value` can be a value of `base` as far as built-in scalars and lists go; other
/// named types are left to the schema.
fn fits_builtin(base: &BaseType, value: &Json) -> bool {
    match base {
        BaseType::List(inner) => match value {
            // Nesting of JSON is bounded by serde_json's recursion limit (128).
            Json::Array(items) => items.iter().all(|item| match item {
                Json::Null => inner.nullable,
                v => fits_builtin(&inner.base, v),
            }),
            // A single value coerces to a list of one.
            v => fits_builtin(&inner.base, v),
        },
        BaseType::Named(name) => match name.as_str() {
            "Int" => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            "Float" => value.is_number(),
            "String" => value.is_string(),
            "Boolean" => value.is_boolean(),
            "ID" => value.is_string() || value.is_i64() || value.is_u64(),
            _ => true,
        },
    }
}

/// Records that execution began and gives async-graphql's own pre-execution errors a code.
#[derive(Debug, Clone, Copy)]
pub struct PhaseExtension;

impl ExtensionFactory for PhaseExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PhaseExtension)
    }
}

fn classify(mut error: ServerError) -> ServerError {
    let has_code = error
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some());
    if has_code {
        return error;
    }
    let m = error.message.as_str();
    let classified = if m.starts_with("Query is nested too deep") {
        ApiError::limit(Limit::Depth, "the query is nested too deep")
    } else if m.starts_with("Query is too complex") {
        ApiError::limit(Limit::Complexity, "the query is too complex")
    } else if m.starts_with("The number of directives") {
        ApiError::limit(Limit::Directives, m.to_string())
    } else if m.starts_with("The recursion depth") {
        ApiError::limit(Limit::RecursiveDepth, m.to_string())
    } else {
        ApiError::GraphqlValidation(m.to_string())
    };
    let coded = classified.to_server_error();
    error.message = coded.message;
    error.extensions = coded.extensions;
    error
}

#[async_graphql::async_trait::async_trait]
impl Extension for PhaseExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables).await.map_err(classify)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await;
        match result {
            Ok(ok) => {
                if let Some(flag) = ctx.data_opt::<ExecutionStarted>() {
                    flag.set();
                }
                Ok(ok)
            }
            Err(errors) => Err(errors.into_iter().map(classify).collect()),
        }
    }
}

/// The code of a server error, if it has one.
pub(crate) fn error_code(error: &ServerError) -> Option<String> {
    let value = error.extensions.as_ref()?.get("code")?;
    match value {
        async_graphql::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Errors without a code get one, so every error a client sees has one: an argument the
/// framework could not coerce (a malformed `DateTime`, a negative `Long`, an enum literal for
/// an input object) is the client's
/// VALIDATION error; anything else without a code is INTERNAL.
pub(crate) fn ensure_code(mut error: ServerError) -> ServerError {
    if error_code(&error).is_none() {
        // The framework's wording for input it could not coerce: a scalar that does not
        // parse, a value out of its type, a literal of the wrong kind for an input type (an
        // enum value where an input object is expected, caught at execution).
        let input = error.message.starts_with("Failed to parse")
            || error.message.starts_with("Invalid value for argument")
            || error.message.starts_with("Expected input type");
        let code = if input {
            Code::Validation
        } else {
            Code::Internal
        };
        let mut extensions = error.extensions.take().unwrap_or_default();
        extensions.set("code", code.as_str());
        error.extensions = Some(extensions);
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_ignores_strings_and_comments() {
        assert_eq!(nesting_depth("{ a { b } }"), 2);
        assert_eq!(nesting_depth(r#"{ a(x: "{{{{") }"#), 2);
        assert_eq!(nesting_depth("# {{{{\n{ a }"), 1);
        assert_eq!(nesting_depth(r#"{ a(x: """ {{{ \""" {{ """) }"#), 2);
        assert_eq!(nesting_depth(&"{".repeat(100_000)), 100_000);
        assert_eq!(nesting_depth("\"unterminated {"), 0);
    }

    #[test]
    fn params_reject_wrong_shapes() {
        let bad = [
            serde_json::json!([]),
            serde_json::json!({}),
            serde_json::json!({"query": 1}),
            serde_json::json!({"query": "{a}", "operationName": 1}),
            serde_json::json!({"query": "{a}", "variables": "x"}),
            serde_json::json!({"query": "{a}", "extensions": []}),
        ];
        for b in bad {
            assert!(Params::from_json(b.clone()).is_err(), "{b}");
        }
        assert!(Params::from_json(
            serde_json::json!({"query": "{a}", "operationName": null, "variables": null})
        )
        .is_ok());
    }

    #[test]
    fn aliases_and_missing_variables_are_request_errors() {
        let limits = Limits {
            aliases_max: 2,
            ..Limits::default()
        };
        let params = |q: &str, v: Json| Params {
            query: q.to_string(),
            operation_name: None,
            variables: v.as_object().cloned().unwrap_or_default(),
        };
        let three = params(
            "{ a: me { id } b: me { id } ... on Query { c: me { id } } }",
            Json::Null,
        );
        assert!(matches!(
            prepare(three, &limits, true),
            Err(ApiError::LimitExceeded {
                limit: Limit::Aliases,
                ..
            })
        ));
        let missing = params(
            "query Q($id: ID!) { __typename }",
            serde_json::json!({"id": null}),
        );
        assert!(matches!(
            prepare(missing, &limits, true),
            Err(ApiError::GraphqlValidation(_))
        ));
        let wrong = params(
            "query Q($n: Int) { __typename }",
            serde_json::json!({"n": "x"}),
        );
        assert!(prepare(wrong, &limits, true).is_err());
        let fine = params(
            "query Q($n: [Int!]) { __typename }",
            serde_json::json!({"n": [1, 2]}),
        );
        assert!(prepare(fine, &limits, true).is_ok());
    }

    /// Random token soup: no input may panic the checks or the parser they admit.
    #[test]
    fn no_document_panics_the_pre_execution_checks() {
        const TOKENS: &[&str] = &[
            "{",
            "}",
            "(",
            ")",
            "[",
            "]",
            "\"",
            "\"\"\"",
            "\\",
            "#",
            "\n",
            "a",
            "me",
            ":",
            "$v",
            "@include(if: true)",
            "...",
            "... on Query",
            ",",
            "1",
            "query",
            "mutation",
            "subscription",
            "fragment F on Query",
            "__schema",
            "x: me",
            "!",
            "=",
            "ID",
            "\u{1F3C3}",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let limits = Limits::default();
        for _ in 0..5_000 {
            let len = (next() % 40) as usize;
            let query: String = (0..len)
                .map(|_| TOKENS[(next() % TOKENS.len() as u64) as usize])
                .collect::<Vec<_>>()
                .join(" ");
            let _ = nesting_depth(&query);
            let params = Params {
                query,
                operation_name: None,
                variables: Map::new(),
            };
            let _ = prepare(params, &limits, next() % 2 == 0);
        }
    }
}
