//! Everything decided about a GraphQL request before the schema runs it, shared by HTTP and
//! WebSocket: the parameters' shape, a nesting check on the raw text (so no document can exhaust
//! the parser's stack), parsing, choosing the operation, the alias limit, the cost of the
//! selection as executed ([`selection_cost`]) and non-null variables.
//!
//! Errors here are *request errors* in the GraphQL-over-HTTP sense: the request never reaches
//! execution, and a response to it carries no `data`. async-graphql's own pre-execution checks
//! (validation, depth, complexity, directives) are classified the same way by [`PhaseExtension`],
//! which also records whether execution began.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, Field, OperationDefinition, OperationType,
    Selection, SelectionSet,
};
use async_graphql::parser::Positioned;
use async_graphql::{ServerError, ServerResult, ValidationResult, Value, Variables};
use serde_json::{Map, Value as Json};

use crate::config::Limits;
use crate::error::{ApiError, Code, Limit};

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
                 counts 1 each time it runs, fragments expanded, the sub-selection of a paged \
                 field times its `first`/`last` or {}, a field with `asOf` {AS_OF_COST})",
                limits.selection_cost_max, limits.page_size_max
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

/// What a field given a non-null `asOf` costs besides its sub-selection: it replays the log
/// (`staffPerformance`, `branchDashboard`) or a customer's stream (`customerHistory`), so a
/// document can ask for only a few at once (7 under the default `selection_cost_max`).
pub const AS_OF_COST: u64 = 2_500;

/// The cost of `operation` as it would execute, in linear time whatever the executed size:
/// every field occurrence counts 1 (or [`AS_OF_COST`] with `asOf`) plus the cost of its
/// sub-selection, fragments (named and inline) are expanded where they are spread, and the
/// sub-selection of a paged field is multiplied by its `first` or `last` (a literal or a
/// variable; by `page_size_max` when neither is given or it is not a non-negative number, and at
/// most by `page_size_max`, beyond which the resolver refuses the page). `@skip`/`@include` are
/// ignored (the field is counted). Arithmetic saturates.
///
/// A field is paged when the schema declares a `first` or `last` argument on it, or when the
/// document gives it one. async-graphql keeps its registry private to the crate
/// (`Schema::registry` is `pub(crate)`), so the schema's shape is read once from its SDL
/// ([`SchemaShape`]); a field the shape does not know (introspection, a misspelt field, a
/// field of a union) is paged only by the argument rule. Lists without a page argument
/// (`branches`, `Customer.accounts`) are bounded by the data, not the request, and count once.
///
/// Each named fragment's cost is computed once, its dependencies first, with an explicit stack
/// (a chain of spreads as long as the body allows recurses nowhere); a spread on a cycle (a
/// validation error anyway) or of an unknown fragment counts 0 and is left to validation.
pub(crate) fn selection_cost(
    document: &ExecutableDocument,
    operation: &OperationDefinition,
    variables: &Map<String, Json>,
    page_size_max: u64,
) -> u64 {
    let mut cost = Cost {
        shape: SchemaShape::get(),
        variables,
        page_size_max,
        fragments: HashMap::new(),
    };
    enum Step<'d> {
        Enter(&'d str),
        Exit(&'d str),
    }
    let mut seen: HashSet<&str> = HashSet::new();
    let mut stack = Vec::new();
    for root in document.fragments.keys() {
        stack.push(Step::Enter(root.as_str()));
        while let Some(step) = stack.pop() {
            match step {
                Step::Enter(name) => {
                    if !seen.insert(name) {
                        continue;
                    }
                    let Some(fragment) = document.fragments.get(name) else {
                        continue;
                    };
                    stack.push(Step::Exit(name));
                    let mut spreads = Vec::new();
                    spreads_in(&fragment.node.selection_set.node, &mut spreads);
                    for spread in spreads {
                        if !seen.contains(spread) && document.fragments.contains_key(spread) {
                            stack.push(Step::Enter(spread));
                        }
                    }
                }
                Step::Exit(name) => {
                    let fragment = &document.fragments[name].node;
                    let on = fragment.type_condition.node.on.node.as_str();
                    let c = cost.set(&fragment.selection_set.node, Some(on));
                    cost.fragments.insert(name, c);
                }
            }
        }
    }
    let root = cost.shape.root(operation.ty);
    cost.set(&operation.selection_set.node, root)
}

/// What the cost walk needs of the schema: for each object and interface type, each field's
/// named type (lists and non-null stripped) and whether it takes `first` or `last`.
#[derive(Debug, Default)]
pub(crate) struct SchemaShape {
    types: HashMap<String, HashMap<String, FieldShape>>,
    roots: [Option<String>; 3],
}

#[derive(Debug)]
struct FieldShape {
    ty: String,
    paged: bool,
}

impl SchemaShape {
    /// The shape of this crate's schema, read from its SDL on first use.
    pub(crate) fn get() -> &'static SchemaShape {
        static SHAPE: std::sync::OnceLock<SchemaShape> = std::sync::OnceLock::new();
        SHAPE.get_or_init(|| SchemaShape::from_sdl(&crate::schema::sdl()))
    }

    /// An SDL that does not parse gives an empty shape: the argument rule alone.
    pub(crate) fn from_sdl(sdl: &str) -> SchemaShape {
        use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
        let mut shape = SchemaShape {
            types: HashMap::new(),
            roots: [
                Some("Query".into()),
                Some("Mutation".into()),
                Some("Subscription".into()),
            ],
        };
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
            return SchemaShape::default();
        };
        for definition in &document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let name = |n: &Option<Positioned<async_graphql::Name>>| {
                        n.as_ref().map(|n| n.node.to_string())
                    };
                    let schema = &schema.node;
                    shape.roots = [
                        name(&schema.query),
                        name(&schema.mutation),
                        name(&schema.subscription),
                    ];
                }
                TypeSystemDefinition::Type(ty) => {
                    let fields = match &ty.node.kind {
                        TypeKind::Object(o) => &o.fields,
                        TypeKind::Interface(i) => &i.fields,
                        _ => continue,
                    };
                    let entry = shape
                        .types
                        .entry(ty.node.name.node.to_string())
                        .or_default();
                    for f in fields {
                        let f = &f.node;
                        let paged = f
                            .arguments
                            .iter()
                            .any(|a| matches!(a.node.name.node.as_str(), "first" | "last"));
                        let ty = named(&f.ty.node.base).to_string();
                        entry.insert(f.name.node.to_string(), FieldShape { ty, paged });
                    }
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        shape
    }

    fn root(&self, ty: OperationType) -> Option<&str> {
        let i = match ty {
            OperationType::Query => 0,
            OperationType::Mutation => 1,
            OperationType::Subscription => 2,
        };
        self.roots[i].as_deref()
    }

    fn field(&self, parent: Option<&str>, name: &str) -> Option<&FieldShape> {
        self.types.get(parent?)?.get(name)
    }
}

/// The named type of a field's type, lists and non-null stripped.
fn named(base: &BaseType) -> &str {
    match base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named(&inner.base),
    }
}

/// Names of the fragments spread in `set`, at any nesting.
fn spreads_in<'d>(set: &'d SelectionSet, out: &mut Vec<&'d str>) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => spreads_in(&field.node.selection_set.node, out),
            Selection::InlineFragment(inline) => spreads_in(&inline.node.selection_set.node, out),
            Selection::FragmentSpread(spread) => {
                out.push(spread.node.fragment_name.node.as_str());
            }
        }
    }
}

struct Cost<'d> {
    shape: &'d SchemaShape,
    variables: &'d Map<String, Json>,
    page_size_max: u64,
    /// Cost of each named fragment computed so far.
    fragments: HashMap<&'d str, u64>,
}

impl<'d> Cost<'d> {
    /// The cost of `set` selected on `ty` (`None`: a type the shape does not know). Recursion
    /// here follows the nesting of one selection set, which the text check bounds.
    fn set(&self, set: &SelectionSet, ty: Option<&str>) -> u64 {
        set.items.iter().fold(0u64, |total, selection| {
            let c = match &selection.node {
                Selection::Field(field) => self.field(&field.node, ty),
                Selection::InlineFragment(inline) => {
                    let on = match &inline.node.type_condition {
                        Some(condition) => Some(condition.node.on.node.as_str()),
                        None => ty,
                    };
                    self.set(&inline.node.selection_set.node, on)
                }
                Selection::FragmentSpread(spread) => self
                    .fragments
                    .get(spread.node.fragment_name.node.as_str())
                    .copied()
                    .unwrap_or(0),
            };
            total.saturating_add(c)
        })
    }

    fn field(&self, field: &Field, parent: Option<&str>) -> u64 {
        let shape = self.shape.field(parent, field.name.node.as_str());
        let own = match self.argument(field, "asOf") {
            Some(v) if v != Value::Null => AS_OF_COST,
            _ => 1,
        };
        let given: Vec<&str> = ["first", "last"]
            .into_iter()
            .filter(|name| field.get_argument(name).is_some())
            .collect();
        let times = if !given.is_empty() {
            given
                .iter()
                .map(|name| self.page(self.argument(field, name)))
                .max()
                .unwrap_or(self.page_size_max)
        } else if shape.is_some_and(|s| s.paged) {
            self.page_size_max
        } else {
            1
        };
        let sub = self.set(&field.selection_set.node, shape.map(|s| s.ty.as_str()));
        own.saturating_add(times.saturating_mul(sub))
    }

    /// A page size as the resolver will see it, at most `page_size_max`.
    fn page(&self, value: Option<Value>) -> u64 {
        match value {
            Some(Value::Number(n)) => n
                .as_u64()
                .map_or(self.page_size_max, |n| n.min(self.page_size_max)),
            _ => self.page_size_max,
        }
    }

    /// The value of an argument, a literal or variables put in; `None` when it is not given or
    /// names a variable not given (a variable's default is not consulted: a missing page size
    /// counts as the largest).
    fn argument(&self, field: &Field, name: &str) -> Option<Value> {
        let value = field.get_argument(name)?.node.clone();
        value
            .into_const_with(|variable| {
                self.variables
                    .get(variable.as_str())
                    .cloned()
                    .and_then(|json| Value::from_json(json).ok())
                    .ok_or(())
            })
            .ok()
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

    /// `query { ...F<levels> }` where `F<k>` spreads `F<k-1>` twice and `F0` is `{ __typename }`:
    /// `2^levels` fields as executed, in a document of a few hundred bytes.
    pub(crate) fn doubling(levels: usize) -> String {
        let mut doc = format!("query {{ ...F{levels} }} fragment F0 on Query {{ __typename }}");
        for k in 1..=levels {
            doc.push_str(&format!(
                " fragment F{k} on Query {{ ...F{p} ...F{p} }}",
                p = k - 1
            ));
        }
        doc
    }

    fn cost_with(query: &str, variables: Json) -> u64 {
        let document = async_graphql::parser::parse_query(query).unwrap();
        let operation = select_operation(&document, None).unwrap();
        let variables = variables.as_object().cloned().unwrap_or_default();
        selection_cost(&document, operation, &variables, 500)
    }

    fn cost(query: &str) -> u64 {
        cost_with(query, Json::Null)
    }

    #[test]
    fn fragments_are_counted_as_executed() {
        assert_eq!(cost(&doubling(0)), 1);
        assert_eq!(cost(&doubling(22)), 1 << 22);
        // Repeated un-aliased fields count each time; inline fragments count their fields.
        assert_eq!(cost("{ __typename __typename __typename }"), 3);
        assert_eq!(
            cost("{ ... on Query { __typename } ... { me { id role } } }"),
            1 + 3
        );
        // Fragments are expanded wherever they are spread, under their field.
        assert_eq!(
            cost("{ me { ...M } me { ...M } } fragment M on Staff { id role }"),
            2 * 3
        );
    }

    #[test]
    fn a_60_level_doubling_is_counted_at_once_and_saturates() {
        // An unmemoized walk would visit 2^60 fields: the test would never end.
        assert_eq!(cost(&doubling(60)), 1 << 60);
        assert_eq!(cost(&doubling(64)), u64::MAX);
        assert_eq!(cost(&doubling(200)), u64::MAX);
        // Saturating under pages as well.
        let paged = doubling(63).replace(
            "query { ...F63 }",
            "query { events(first: 500) { edges { node { ...F63 } } } }",
        );
        assert_eq!(cost(&paged), u64::MAX);
    }

    #[test]
    fn cycles_unknown_fragments_and_long_chains_end() {
        // A cycle is a validation error; its back edge counts 0 (which edge is the back edge
        // depends on where the walk enters), and the count ends.
        assert!(
            cost("{ ...A } fragment A on Query { ...B } fragment B on Query { __typename ...A }")
                <= 1
        );
        assert_eq!(cost("{ ...A } fragment A on Query { ...A __typename }"), 1);
        assert_eq!(cost("{ ...Nowhere __typename }"), 1);
        // A chain of spreads as long as a large body: no recursion along it.
        let mut chain = String::from("{ ...F5000 } fragment F0 on Query { __typename }");
        for k in 1..=5000 {
            chain.push_str(&format!(" fragment F{k} on Query {{ ...F{} }}", k - 1));
        }
        assert_eq!(cost(&chain), 1);
    }

    #[test]
    fn pages_multiply_their_sub_selection() {
        let page = |args: &str| format!("{{ events({args}) {{ edges {{ node {{ id }} }} }} }}");
        // events 1 + n × (edges 1 + node 1 + id 1)
        assert_eq!(cost(&page("first: 5")), 1 + 5 * 3);
        assert_eq!(cost(&page("first: 500")), 1 + 500 * 3);
        assert!(cost(&page("first: 500")) > cost(&page("first: 5")));
        assert_eq!(cost(&page("last: 0")), 1);
        assert_eq!(cost(&page("first: 2, last: 7")), 1 + 7 * 3);
        // Past the page limit the resolver refuses: counted as the limit.
        assert_eq!(cost(&page("first: 100000")), 1 + 500 * 3);
        assert_eq!(cost(&page("first: -1")), 1 + 500 * 3);
        assert_eq!(cost(&page("first: null")), 1 + 500 * 3);
        // A field the schema pages, without first/last: its largest page.
        assert_eq!(cost("{ events { edges { node { id } } } }"), 1 + 500 * 3);
        assert_eq!(
            cost("{ customer(id: \"c\") { timeline { kind } } }"),
            1 + (1 + 500)
        );
        // Lists the schema does not page count once, even under a paged field's name.
        assert_eq!(
            cost("{ customer(id: \"c\") { accounts { number } holdings { key } } }"),
            1 + 2 * 2
        );
        // A customer's tickets and leads are paged by `first`.
        assert_eq!(
            cost("{ customer(id: \"c\") { tickets(first: 5) { id } opportunities { id } } }"),
            1 + (1 + 5) + (1 + 500)
        );
        assert_eq!(
            cost("{ customerHistory(id: \"c\", first: 3) { timeline { eventType } } }"),
            1 + 3 * 2
        );
        // Inline fragments and fragments select on their type condition.
        assert_eq!(
            cost(
                "{ node(id: \"c\") { ... on Customer { timeline { kind } } ...C } } \
                  fragment C on Customer { timeline { kind } }"
            ),
            1 + 2 * (1 + 500)
        );
        // A field the schema does not know is paged by its arguments alone.
        assert_eq!(cost("{ nope { a } }"), 2);
        assert_eq!(cost("{ nope(first: 3) { a } }"), 1 + 3);
        let var = "query($n: Int) { events(first: $n) { edges { node { id } } } }";
        assert_eq!(cost_with(var, serde_json::json!({"n": 7})), 1 + 7 * 3);
        assert_eq!(cost_with(var, serde_json::json!({})), 1 + 500 * 3);
        assert_eq!(cost_with(var, serde_json::json!({"n": "x"})), 1 + 500 * 3);
        // Nested pages multiply.
        assert_eq!(
            cost("{ customers(first: 10) { edges { node { timeline(first: 5) { kind } } } } }"),
            1 + 10 * (1 + 1 + (1 + 5))
        );
    }

    #[test]
    fn a_field_given_as_of_weighs_a_replay() {
        let one =
            r#"{ branchDashboard(branchId: "b", asOf: "2100-01-01T00:00:00Z") { customers } }"#;
        assert_eq!(cost(one), AS_OF_COST + 1);
        let two = r#"{ a: branchDashboard(branchId: "b", asOf: "2100-01-01T00:00:00Z") { customers }
                       b: staffPerformance(staffId: "s", asOf: "2100-01-01T00:00:00Z") { name } }"#;
        assert!(cost(two) >= 2 * AS_OF_COST);
        assert_eq!(
            cost(r#"{ branchDashboard(branchId: "b", asOf: null) { customers } }"#),
            2
        );
        let var =
            r#"query($at: DateTime) { branchDashboard(branchId: "b", asOf: $at) { customers } }"#;
        assert_eq!(cost_with(var, serde_json::json!({})), 2);
        assert_eq!(cost_with(var, serde_json::json!({"at": null})), 2);
        assert_eq!(
            cost_with(var, serde_json::json!({"at": "2100-01-01T00:00:00Z"})),
            AS_OF_COST + 1
        );
        // The default admits a few replays in one document, not many.
        let many = |n: usize| {
            let fields: Vec<String> = (0..n)
                .map(|i| format!(r#"r{i}: branchDashboard(branchId: "b", asOf: "2100-01-01T00:00:00Z") {{ customers }}"#))
                .collect();
            format!("{{ {} }}", fields.join(" "))
        };
        let max = Limits::default().selection_cost_max;
        assert!(cost(&many(7)) <= max);
        assert!(cost(&many(8)) > max);
    }

    /// The README's queries (which `tests/first_run.rs` runs) fit the default limit.
    #[test]
    fn the_readme_queries_cost_within_the_default() {
        let readme = include_str!("../../../README.md");
        let blocks: Vec<&str> = readme
            .split("```graphql")
            .skip(1)
            .map(|rest| rest.split("```").next().unwrap())
            .collect();
        assert!(blocks.len() >= 6, "{}", blocks.len());
        let limits = Limits::default();
        for block in blocks {
            let c = cost(block);
            assert!(c <= limits.selection_cost_max, "{c}: {block}");
        }
    }

    #[test]
    fn the_fan_out_is_refused_before_it_runs() {
        let params = Params {
            query: doubling(22),
            operation_name: None,
            variables: Map::new(),
        };
        assert!(matches!(
            prepare(params, &Limits::default(), true),
            Err(ApiError::LimitExceeded {
                limit: Limit::SelectionCost,
                ..
            })
        ));
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
