//! Conditions on an entity's fields: for conditional writes and query filters.

use super::{Contains, IntoOperand, Operand, Placeholders};
use crate::{Error, ErrorKind, Field, Format};
use std::marker::PhantomData;

/// Where a condition looks: an attribute, inside a map when packed.
#[derive(Debug, Clone, Copy)]
struct Path {
    field: &'static str,
    map: Option<&'static str>,
    attribute: &'static str,
}

impl<E, T> From<Field<E, T>> for Path {
    fn from(f: Field<E, T>) -> Path {
        Path { field: f.name(), map: f.map(), attribute: f.attribute() }
    }
}

#[derive(Debug, Clone, Copy)]
enum Compare {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Compare {
    fn symbol(self) -> &'static str {
        match self {
            Compare::Eq => "=",
            Compare::Ne => "<>",
            Compare::Lt => "<",
            Compare::Le => "<=",
            Compare::Gt => ">",
            Compare::Ge => ">=",
        }
    }
}

#[derive(Debug)]
enum Node {
    Compare(Path, Compare, Operand),
    Between(Path, Operand, Operand),
    BeginsWith(Path, Operand),
    Contains(Path, Operand),
    Exists(Path),
    NotExists(Path),
    Size(Path, Compare, usize),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
}

/// A condition on fields of entity `E`, built from its field constants:
///
/// ```
/// # use onetable_core::{Field, expr::Condition};
/// # struct User;
/// # const AGE: Field<User, u32> = Field::new("age", "age", None);
/// # const NAME: Field<User, String> = Field::new("name", "nm", None);
/// let adult_ann: Condition<User> = AGE.ge(18) & NAME.begins_with("Ann") & !NAME.eq("Anna");
/// ```
#[derive(Debug)]
pub struct Condition<E> {
    node: Node,
    entity: PhantomData<fn() -> E>,
}

impl<E> Condition<E> {
    fn new(node: Node) -> Self {
        Condition { node, entity: PhantomData }
    }

    /// Both conditions hold.
    pub fn and(self, other: Condition<E>) -> Condition<E> {
        Condition::new(match self.node {
            Node::And(mut all) => {
                all.push(other.node);
                Node::And(all)
            }
            node => Node::And(vec![node, other.node]),
        })
    }

    /// Either condition holds.
    pub fn or(self, other: Condition<E>) -> Condition<E> {
        Condition::new(match self.node {
            Node::Or(mut any) => {
                any.push(other.node);
                Node::Or(any)
            }
            node => Node::Or(vec![node, other.node]),
        })
    }

    /// The expression text, registering its names and values in `placeholders`.
    /// Fails when a value cannot be stored (naming the entity and field).
    pub fn render(
        &self,
        entity: &'static str,
        format: &Format,
        placeholders: &mut Placeholders,
    ) -> Result<String, Error> {
        let mut out = String::new();
        render(&self.node, entity, format, placeholders, &mut out)?;
        Ok(out)
    }
}

impl<E> std::ops::BitAnd for Condition<E> {
    type Output = Condition<E>;
    fn bitand(self, other: Condition<E>) -> Condition<E> {
        self.and(other)
    }
}

impl<E> std::ops::BitOr for Condition<E> {
    type Output = Condition<E>;
    fn bitor(self, other: Condition<E>) -> Condition<E> {
        self.or(other)
    }
}

impl<E> std::ops::Not for Condition<E> {
    type Output = Condition<E>;
    fn not(self) -> Condition<E> {
        Condition::new(Node::Not(Box::new(self.node)))
    }
}

fn value(
    operand: &Operand,
    path: &Path,
    entity: &'static str,
    format: &Format,
    placeholders: &mut Placeholders,
) -> Result<std::borrow::Cow<'static, str>, Error> {
    let attribute = path.attribute;
    match operand.to_attr(format).map_err(|e| Error::value(entity, path.field, attribute, e))? {
        Some(av) => Ok(placeholders.value(av)),
        None => Err(ErrorKind::Invalid {
            entity,
            message: format!(
                "{entity}.{} is compared with an absent value (None or an empty set): use exists() / not_exists()",
                path.field
            ),
        }
        .into()),
    }
}

fn render(
    node: &Node,
    entity: &'static str,
    format: &Format,
    p: &mut Placeholders,
    out: &mut String,
) -> Result<(), Error> {
    let path = |p: &mut Placeholders, path: &Path| p.path(path.map, path.attribute);
    match node {
        Node::Compare(at, op, v) => {
            let name = path(p, at);
            let v = value(v, at, entity, format, p)?;
            out.push_str(&format!("{name} {} {v}", op.symbol()));
        }
        Node::Between(at, lo, hi) => {
            let name = path(p, at);
            let (lo, hi) = (value(lo, at, entity, format, p)?, value(hi, at, entity, format, p)?);
            out.push_str(&format!("{name} BETWEEN {lo} AND {hi}"));
        }
        Node::BeginsWith(at, v) => {
            let name = path(p, at);
            let v = value(v, at, entity, format, p)?;
            out.push_str(&format!("begins_with({name}, {v})"));
        }
        Node::Contains(at, v) => {
            let name = path(p, at);
            let v = value(v, at, entity, format, p)?;
            out.push_str(&format!("contains({name}, {v})"));
        }
        Node::Exists(at) => out.push_str(&format!("attribute_exists({})", path(p, at))),
        Node::NotExists(at) => out.push_str(&format!("attribute_not_exists({})", path(p, at))),
        Node::Size(at, op, n) => {
            let name = path(p, at);
            let v = p.value(aws_sdk_dynamodb::types::AttributeValue::N(n.to_string()));
            out.push_str(&format!("size({name}) {} {v}", op.symbol()));
        }
        Node::And(all) | Node::Or(all) => {
            let joiner = if matches!(node, Node::And(_)) { " AND " } else { " OR " };
            for (i, n) in all.iter().enumerate() {
                if i > 0 {
                    out.push_str(joiner);
                }
                out.push('(');
                render(n, entity, format, p, out)?;
                out.push(')');
            }
        }
        Node::Not(n) => {
            out.push_str("NOT (");
            render(n, entity, format, p, out)?;
            out.push(')');
        }
    }
    Ok(())
}

/// Conditions on the size of a field: string length, bytes of binary, elements of a
/// list, map or set. Made by [`Field::size`].
#[derive(Debug)]
pub struct Size<E> {
    path: Path,
    entity: PhantomData<fn() -> E>,
}

macro_rules! size_compare {
    ($($name:ident => $op:ident, $doc:literal;)*) => {$(
        #[doc = $doc]
        pub fn $name(self, n: usize) -> Condition<E> {
            Condition::new(Node::Size(self.path, Compare::$op, n))
        }
    )*};
}

impl<E> Size<E> {
    size_compare! {
        eq => Eq, "The size equals `n`.";
        ne => Ne, "The size differs from `n`.";
        lt => Lt, "The size is below `n`.";
        le => Le, "The size is at most `n`.";
        gt => Gt, "The size is above `n`.";
        ge => Ge, "The size is at least `n`.";
    }
}

macro_rules! compare {
    ($($name:ident => $op:ident, $doc:literal;)*) => {$(
        #[doc = $doc]
        pub fn $name(self, value: impl IntoOperand<T>) -> Condition<E> {
            Condition::new(Node::Compare(self.into(), Compare::$op, value.into_operand()))
        }
    )*};
}

impl<E, T> Field<E, T> {
    compare! {
        eq => Eq, "The field equals `value`.";
        ne => Ne, "The field differs from `value` (or is absent).";
        lt => Lt, "The field is less than `value`.";
        le => Le, "The field is at most `value`.";
        gt => Gt, "The field is greater than `value`.";
        ge => Ge, "The field is at least `value`.";
    }

    /// `low <= field <= high`.
    pub fn between(self, low: impl IntoOperand<T>, high: impl IntoOperand<T>) -> Condition<E> {
        Condition::new(Node::Between(self.into(), low.into_operand(), high.into_operand()))
    }

    /// The field (a string or binary) starts with `prefix`.
    pub fn begins_with(self, prefix: impl IntoOperand<T>) -> Condition<E> {
        Condition::new(Node::BeginsWith(self.into(), prefix.into_operand()))
    }

    /// The item has the attribute.
    pub fn exists(self) -> Condition<E> {
        Condition::new(Node::Exists(self.into()))
    }

    /// The item lacks the attribute.
    pub fn not_exists(self) -> Condition<E> {
        Condition::new(Node::NotExists(self.into()))
    }

    /// The size of the field, to compare.
    pub fn size(self) -> Size<E> {
        Size { path: self.into(), entity: PhantomData }
    }
}

impl<E, T: Contains> Field<E, T> {
    /// The field contains `element`: a substring of a string, an element of a list or
    /// set.
    pub fn contains(self, element: impl IntoOperand<T::Element>) -> Condition<E> {
        Condition::new(Node::Contains(self.into(), element.into_operand()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    struct User;
    const AGE: Field<User, u32> = Field::new("age", "age", None);
    const NAME: Field<User, String> = Field::new("name", "name", None);
    const CITY: Field<User, Option<String>> = Field::new("city", "city", Some("data"));
    const TAGS: Field<User, Vec<String>> = Field::new("tags", "tags", None);

    fn render(c: Condition<User>) -> (String, Placeholders) {
        let mut p = Placeholders::new();
        let text = c.render("User", &Format::ONETABLE, &mut p).unwrap();
        (text, p)
    }

    #[test]
    fn every_name_and_value_is_a_placeholder() {
        let (text, p) = render(
            (AGE.between(18, 65) & NAME.begins_with("A#:{x}"))
                | (!CITY.eq("Paris") & TAGS.contains("a") & TAGS.size().gt(2)),
        );
        assert_eq!(
            text,
            "((#n0 BETWEEN :v0 AND :v1) AND (begins_with(#n1, :v2))) OR ((NOT (#n2.#n3 = :v3)) AND (contains(#n4, :v4)) AND (size(#n4) > :v5))"
        );
        let (names, values) = p.into_maps();
        let names = names.unwrap();
        assert_eq!(names["#n0"], "age");
        assert_eq!(names["#n2"], "data");
        assert_eq!(names["#n3"], "city");
        assert_eq!(values.unwrap()[":v2"], AttributeValue::S("A#:{x}".into()));
    }

    #[test]
    fn absent_operands_are_refused() {
        let none: Option<String> = None;
        let mut p = Placeholders::new();
        let cond: Condition<User> =
            Condition::new(Node::Compare(CITY.into(), Compare::Eq, Operand::new(none)));
        let err = cond.render("User", &Format::ONETABLE, &mut p).unwrap_err();
        assert!(err.to_string().contains("User.city is compared with an absent value"), "{err}");
    }
}
