//! The cost of a selection as it would execute, counted before any resolver runs: fragments
//! expanded where they are spread, each field its weight from [`super::weights`] plus its
//! sub-selection times its page or list bound. Linear in the document whatever the executed
//! size (each named fragment is costed once), saturating.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{
    BaseType, ExecutableDocument, Field, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::parser::Positioned;
use async_graphql::Value;
use serde_json::{Map, Value as Json};

use super::weights::{self, Bound};

/// What a field given a non-null `asOf` costs besides its sub-selection: it replays the log
/// (`staffPerformance`, `branchDashboard`) or a customer's stream (`customerHistory`), so a
/// document can ask for only a few at once (4 under the default `selection_cost_max`).
pub const AS_OF_COST: u64 = weights::WHOLE_LOG;

/// The cost of `operation` as it would execute, in linear time whatever the executed size:
/// every field occurrence counts its weight from [`weights::FIELD_COSTS`] (1 for a resident
/// read; [`AS_OF_COST`] when given `asOf`) plus the cost of its sub-selection, fragments (named
/// and inline) are expanded where they are spread, and the sub-selection of a paged field is
/// multiplied by its `first` or `last` (a literal or a variable; by `page_size_max` when neither
/// is given or it is not a non-negative number, and at most by `page_size_max`, beyond which the
/// resolver refuses the page), that of an unpaged list by its declared [`Bound`].
/// `@skip`/`@include` are ignored (the field is counted). Arithmetic saturates.
///
/// A field is paged when the schema declares a `first` or `last` argument on it, or when the
/// document gives it one. async-graphql keeps its registry private to the crate
/// (`Schema::registry` is `pub(crate)`), so the schema's shape is read once from its SDL
/// ([`SchemaShape`]); a field the shape does not know (introspection, a misspelt field, a
/// field of a union) is paged only by the argument rule and weighs 1. Lists without a page
/// argument (`branches`, `Customer.accounts`) are bounded by the organisation, an enum or the
/// data; their bound is declared with their weight.
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
    /// Its weight from [`weights::FIELD_COSTS`].
    cost: weights::FieldCost,
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
        // The schema block (which names the roots) may come after the types: read it first.
        for definition in &document.definitions {
            if let TypeSystemDefinition::Schema(schema) = definition {
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
        }
        let mutation_root = shape.roots[1].clone();
        for definition in &document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let fields = match &ty.node.kind {
                TypeKind::Object(o) => &o.fields,
                TypeKind::Interface(i) => &i.fields,
                _ => continue,
            };
            let type_name = ty.node.name.node.to_string();
            let entry = shape.types.entry(type_name.clone()).or_default();
            for f in fields {
                let f = &f.node;
                let paged = f
                    .arguments
                    .iter()
                    .any(|a| matches!(a.node.name.node.as_str(), "first" | "last"));
                let ty = named(&f.ty.node.base).to_string();
                let name = f.name.node.to_string();
                let cost = weights::of(&type_name, &name, mutation_root.as_deref());
                entry.insert(name, FieldShape { ty, paged, cost });
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
        let weight = shape.map_or(weights::DEFAULT, |s| s.cost);
        let own = match self.argument(field, "asOf") {
            Some(v) if v != Value::Null => AS_OF_COST.max(weight.own),
            _ => weight.own,
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
            match weight.bound {
                Bound::One => 1,
                Bound::At(n) => n,
                Bound::Page => self.page_size_max,
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;
    use crate::error::{ApiError, Limit};
    use crate::prepare::{prepare, select_operation, Params};

    /// `query { ...F<levels> }` where `F<k>` spreads `F<k-1>` twice and `F0` is `{ __typename }`:
    /// `2^levels` fields as executed, in a document of a few hundred bytes.
    fn doubling(levels: usize) -> String {
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
        use weights::{BOOK, DISK, ENUM, LOG, PER_CUSTOMER};
        let page = |args: &str| format!("{{ events({args}) {{ edges {{ node {{ id }} }} }} }}");
        // events (a log read) + n × (edges 1 + node 1 + id 1)
        assert_eq!(cost(&page("first: 5")), LOG + 5 * 3);
        assert_eq!(cost(&page("first: 500")), LOG + 500 * 3);
        assert!(cost(&page("first: 500")) > cost(&page("first: 5")));
        assert_eq!(cost(&page("last: 0")), LOG);
        assert_eq!(cost(&page("first: 2, last: 7")), LOG + 7 * 3);
        // Past the page limit the resolver refuses: counted as the limit.
        assert_eq!(cost(&page("first: 100000")), LOG + 500 * 3);
        assert_eq!(cost(&page("first: -1")), LOG + 500 * 3);
        assert_eq!(cost(&page("first: null")), LOG + 500 * 3);
        // A field the schema pages, without first/last: its largest page.
        assert_eq!(cost("{ events { edges { node { id } } } }"), LOG + 500 * 3);
        // A customer's timeline is read from disk.
        assert_eq!(
            cost("{ customer(id: \"c\") { timeline { kind } } }"),
            1 + (DISK + 500)
        );
        // Lists the schema does not page run their sub-selection up to their bound.
        assert_eq!(
            cost("{ customer(id: \"c\") { accounts { number } holdings { key } } }"),
            1 + (1 + PER_CUSTOMER) + (1 + ENUM)
        );
        assert_eq!(
            cost("{ branches { name dashboard { customers } } }"),
            1 + weights::BRANCHES * (1 + (weights::ORG + 1))
        );
        // A customer's tickets and leads are paged by `first`.
        assert_eq!(
            cost("{ customer(id: \"c\") { tickets(first: 5) { id } opportunities { id } } }"),
            1 + (DISK + 5) + (DISK + 500)
        );
        assert_eq!(
            cost("{ customerHistory(id: \"c\", first: 3) { timeline { eventType } } }"),
            2 * LOG + 3 * 2
        );
        // Inline fragments and fragments select on their type condition.
        assert_eq!(
            cost(
                "{ node(id: \"c\") { ... on Customer { timeline { kind } } ...C } } \
                  fragment C on Customer { timeline { kind } }"
            ),
            1 + 2 * (DISK + 500)
        );
        // A field the schema does not know is paged by its arguments alone and weighs 1.
        assert_eq!(cost("{ nope { a } }"), 2);
        assert_eq!(cost("{ nope(first: 3) { a } }"), 1 + 3);
        let var = "query($n: Int) { events(first: $n) { edges { node { id } } } }";
        assert_eq!(cost_with(var, serde_json::json!({"n": 7})), LOG + 7 * 3);
        assert_eq!(cost_with(var, serde_json::json!({})), LOG + 500 * 3);
        assert_eq!(cost_with(var, serde_json::json!({"n": "x"})), LOG + 500 * 3);
        // Nested pages multiply.
        assert_eq!(
            cost("{ customers(first: 10) { edges { node { timeline(first: 5) { kind } } } } }"),
            BOOK + 10 * (1 + 1 + (DISK + 5))
        );
    }

    /// A page of customers with their archive's detail costs its disk reads: 500 rows with
    /// timeline, windows and explanations are refused, the same page of resident fields or a
    /// short page of detail is not.
    #[test]
    fn big_pages_of_archive_detail_cost_their_reads() {
        let max = Limits::default().selection_cost_max;
        let page = |n: u32, fields: &str| {
            cost(&format!(
                "{{ customers(first: {n}) {{ edges {{ node {{ {fields} }} }} }} }}"
            ))
        };
        let resident = "name tier assets churnRisk lastContact";
        let detail = "name timeline(first: 5) { kind at } windows { turnover30Days } \
                      churn { risk } contributionExplanation { score }";
        assert!(page(500, resident) <= max, "{}", page(500, resident));
        assert!(page(50, detail) <= max, "{}", page(50, detail));
        assert!(page(500, detail) > max, "{}", page(500, detail));
        // Mutations are appends; a document of many is weighed as such.
        let commands: Vec<String> = (0..500)
            .map(|i| format!(r#"m{i}: cancelJob(id: "j") {{ id }}"#))
            .collect();
        assert!(cost(&format!("mutation {{ {} }}", commands.join(" "))) <= max);
        let contacts: Vec<String> = (0..500)
            .map(|i| format!(r#"m{i}: activateCustomer(customerId: "c") {{ position }}"#))
            .collect();
        assert!(cost(&format!("mutation {{ {} }}", contacts.join(" "))) > max);
    }

    #[test]
    fn a_field_given_as_of_weighs_a_replay() {
        let one =
            r#"{ branchDashboard(branchId: "b", asOf: "2100-01-01T00:00:00Z") { customers } }"#;
        assert_eq!(cost(one), AS_OF_COST + 1);
        let two = r#"{ a: branchDashboard(branchId: "b", asOf: "2100-01-01T00:00:00Z") { customers }
                       b: staffPerformance(staffId: "s", asOf: "2100-01-01T00:00:00Z") { name } }"#;
        assert!(cost(two) >= 2 * AS_OF_COST);
        // Without `asOf` it is a pass over the branches' day figures.
        let live = weights::ORG + 1;
        assert_eq!(
            cost(r#"{ branchDashboard(branchId: "b", asOf: null) { customers } }"#),
            live
        );
        let var =
            r#"query($at: DateTime) { branchDashboard(branchId: "b", asOf: $at) { customers } }"#;
        assert_eq!(cost_with(var, serde_json::json!({})), live);
        assert_eq!(cost_with(var, serde_json::json!({"at": null})), live);
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
        assert!(cost(&many(4)) <= max);
        assert!(cost(&many(5)) > max);
    }

    /// The README's queries (which `tests/first_run.rs` runs) fit the default limit.
    #[test]
    fn the_readme_queries_cost_within_the_default() {
        let readme = include_str!("../../../../README.md");
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
}
