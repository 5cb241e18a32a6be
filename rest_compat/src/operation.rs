//! Stored GraphQL operations: the `.graphql` files under `operations/<group>/`.

use async_graphql::parser::{
    parse_query,
    types::{BaseType, DocumentOperations, OperationType, Type},
};

/// One stored operation, parsed once when the router is built.
#[derive(Debug, Clone)]
pub struct StoredOperation {
    /// File name the operation was loaded from (for messages), e.g. `monitor/login.graphql`.
    pub file: &'static str,
    /// The operation's source text, sent as is to the executor.
    pub source: &'static str,
    /// The operation's name (`mutation Login(...)` → `Login`).
    pub name: String,
    /// Query, mutation or subscription.
    pub kind: OperationType,
    /// Declared variables in declaration order.
    pub variables: Vec<VariableDef>,
}

/// A declared variable of a stored operation.
#[derive(Debug, Clone)]
pub struct VariableDef {
    /// The variable name without `$`; by convention the documented request field name.
    pub name: String,
    /// The declared GraphQL type.
    pub ty: VarType,
    /// Whether the declaration has a default value.
    pub has_default: bool,
}

/// A GraphQL input type reference (`Int!`, `[Upload!]`, `RegisterInput` …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarType {
    /// A named type; `non_null` is true for `Name!`.
    Named {
        /// The type name.
        name: String,
        /// `!` present.
        non_null: bool,
    },
    /// A list type; `non_null` is true for `[T]!`.
    List {
        /// The item type.
        item: Box<VarType>,
        /// `!` present.
        non_null: bool,
    },
}

impl VarType {
    fn from_parser(ty: &Type) -> Self {
        match &ty.base {
            BaseType::Named(name) => Self::Named {
                name: name.to_string(),
                non_null: !ty.nullable,
            },
            BaseType::List(item) => Self::List {
                item: Box::new(Self::from_parser(item)),
                non_null: !ty.nullable,
            },
        }
    }

    /// `!` present on the outer type.
    pub fn is_non_null(&self) -> bool {
        match self {
            Self::Named { non_null, .. } | Self::List { non_null, .. } => *non_null,
        }
    }

    /// The innermost named type.
    pub fn base_name(&self) -> &str {
        match self {
            Self::Named { name, .. } => name,
            Self::List { item, .. } => item.base_name(),
        }
    }
}

/// Why a stored operation could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    /// The file is not valid GraphQL.
    #[error("{file}: {source}")]
    Parse {
        /// File name.
        file: &'static str,
        /// Parser error.
        source: async_graphql::parser::Error,
    },
    /// The file must hold exactly one named operation.
    #[error("{file}: a stored operation file holds exactly one named operation")]
    NotSingleNamed {
        /// File name.
        file: &'static str,
    },
}

impl StoredOperation {
    /// Parses a stored operation.
    ///
    /// # Errors
    /// [`OperationError`] when the text does not parse or does not hold exactly one named
    /// operation.
    pub fn parse(file: &'static str, source: &'static str) -> Result<Self, OperationError> {
        let doc = parse_query(source).map_err(|source| OperationError::Parse { file, source })?;
        let (name, op) = match doc.operations {
            DocumentOperations::Multiple(ops) if ops.len() == 1 => ops
                .into_iter()
                .next()
                .ok_or(OperationError::NotSingleNamed { file })?,
            _ => return Err(OperationError::NotSingleNamed { file }),
        };
        let op = op.node;
        let variables = op
            .variable_definitions
            .iter()
            .map(|v| VariableDef {
                name: v.node.name.node.to_string(),
                ty: VarType::from_parser(&v.node.var_type.node),
                has_default: v.node.default_value.is_some(),
            })
            .collect();
        Ok(Self {
            file,
            source,
            name: name.to_string(),
            kind: op.ty,
            variables,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_variables_and_types() {
        let op = StoredOperation::parse(
            "t.graphql",
            "mutation Up($file: Upload!, $ids: [Int!], $n: Int = 3) { x }",
        )
        .expect("parses");
        assert_eq!(op.name, "Up");
        assert_eq!(op.kind, OperationType::Mutation);
        assert_eq!(op.variables.len(), 3);
        assert_eq!(op.variables[0].ty.base_name(), "Upload");
        assert!(op.variables[0].ty.is_non_null());
        assert!(matches!(
            op.variables[1].ty,
            VarType::List {
                non_null: false,
                ..
            }
        ));
        assert!(op.variables[2].has_default);
    }

    #[test]
    fn refuses_anonymous_or_multiple_operations() {
        assert!(StoredOperation::parse("a", "{ x }").is_err());
        assert!(StoredOperation::parse("b", "query A { x } query B { y }").is_err());
        assert!(StoredOperation::parse("c", "query A { x").is_err());
    }
}
