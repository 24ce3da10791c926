//! A compiled SQL92 selector (Java: `ComparisonExpression`, `LogicExpression`,
//! `UnaryExpression`) evaluated on a stored record's property string.
//!
//! The parser and its compile-time checks live in Python (`rmq.filter.sql92`), which hands
//! over the checked tree; this side only evaluates, once per scanned message, without the
//! GIL. Evaluation is three-valued (`Null` is SQL's unknown) and a message matches only on
//! TRUE; an evaluation error means "no match", as on Java's broker.

use std::collections::HashSet;

use crate::codec::properties;
use crate::filter::java_values::{equal, order, Eval, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderOp {
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

impl OrderOp {
    fn accepts(self, c: i32) -> bool {
        match self {
            OrderOp::Greater => c > 0,
            OrderOp::GreaterOrEqual => c >= 0,
            OrderOp::Less => c < 0,
            OrderOp::LessOrEqual => c <= 0,
        }
    }
}

/// A constant with its Java type; strings are owned here and borrowed while evaluating.
#[derive(Debug, Clone, PartialEq)]
pub enum Constant {
    Null,
    Bool(bool),
    Int(i64),
    Long(i64),
    Double(f64),
    Str(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Constant(Constant),
    Property(String),
    /// A property used where a boolean is expected: only a Boolean survives the cast, and
    /// properties are strings, so a present property reads FALSE.
    AsBoolean(Box<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Equal(Box<Expr>, Box<Expr>),
    Order(OrderOp, Box<Expr>, Box<Expr>),
    In {
        property: String,
        members: HashSet<String>,
        negated: bool,
    },
    Negate(Box<Expr>),
}

/// Property lookups straight in the encoded `name 0x01 value 0x02` bytes: a selector reads
/// two or three names of a message's dozen properties, so nothing is split up front.
pub struct EncodedProperties<'a>(pub &'a [u8]);

impl<'a> EncodedProperties<'a> {
    fn get(&self, name: &str) -> Value<'a> {
        match properties::find(self.0, name.as_bytes()) {
            Some(v) => std::str::from_utf8(v).map_or(Value::Null, Value::Str),
            None => Value::Null,
        }
    }
}

impl Expr {
    /// TRUE only: unknown and evaluation errors are no match.
    #[must_use]
    pub fn matches(&self, props: &EncodedProperties<'_>) -> bool {
        matches!(self.evaluate(props), Ok(Value::Bool(true)))
    }

    /// The expression's value for one message.
    ///
    /// # Errors
    /// What Java throws while evaluating (a property that does not parse as the number it
    /// is compared with, a Boolean compared with a String).
    pub fn evaluate<'a>(&'a self, props: &EncodedProperties<'a>) -> Eval<Value<'a>> {
        Ok(match self {
            Expr::Constant(c) => match c {
                Constant::Null => Value::Null,
                Constant::Bool(b) => Value::Bool(*b),
                Constant::Int(v) => Value::Int(*v),
                Constant::Long(v) => Value::Long(*v),
                Constant::Double(v) => Value::Double(*v),
                Constant::Str(s) => Value::Str(s),
            },
            Expr::Property(name) => props.get(name),
            Expr::AsBoolean(inner) => match inner.evaluate(props)? {
                Value::Null => Value::Null,
                Value::Bool(b) => Value::Bool(b),
                _ => Value::Bool(false),
            },
            Expr::Not(inner) => match inner.evaluate(props)? {
                Value::Null => Value::Null,
                v => Value::Bool(!truthy(&v)),
            },
            Expr::And(l, r) => {
                let lv = l.evaluate(props)?;
                if lv == Value::Bool(false) {
                    return Ok(lv);
                }
                let rv = r.evaluate(props)?;
                if rv == Value::Bool(false) {
                    return Ok(rv);
                }
                three_valued(&lv, &rv, true)
            }
            Expr::Or(l, r) => {
                let lv = l.evaluate(props)?;
                if lv == Value::Bool(true) {
                    return Ok(lv);
                }
                let rv = r.evaluate(props)?;
                if rv == Value::Bool(true) {
                    return Ok(rv);
                }
                three_valued(&lv, &rv, false)
            }
            Expr::Equal(l, r) => {
                let lv = l.evaluate(props)?;
                let rv = r.evaluate(props)?;
                equal(&lv, &rv)?.map_or(Value::Null, Value::Bool)
            }
            Expr::Order(op, l, r) => {
                let lv = l.evaluate(props)?;
                if lv == Value::Null {
                    return Ok(Value::Null);
                }
                let rv = r.evaluate(props)?;
                order(&lv, &rv)?.map_or(Value::Null, |c| Value::Bool(op.accepts(c)))
            }
            Expr::In {
                property,
                members,
                negated,
            } => match props.get(property) {
                Value::Str(v) => Value::Bool(members.contains(v) != *negated),
                _ => Value::Null,
            },
            Expr::Negate(inner) => match inner.evaluate(props)? {
                Value::Int(v) => Value::Int(-v),
                Value::Long(v) => Value::Long(v.wrapping_neg()),
                Value::Double(v) => Value::Double(-v),
                _ => Value::Null,
            },
        })
    }
}

/// Python's truthiness of what NOT is applied to (always a Boolean once parsed).
fn truthy(v: &Value<'_>) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::Int(n) | Value::Long(n) => *n != 0,
        Value::Double(d) => *d != 0.0,
        Value::Str(s) => !s.is_empty(),
        Value::Bool(true) => true,
    }
}

/// AND/OR once neither side decided the answer: unknown if either side is unknown.
fn three_valued<'a>(lv: &Value<'a>, rv: &Value<'a>, and: bool) -> Value<'a> {
    if *lv == Value::Null || *rv == Value::Null {
        Value::Null
    } else {
        Value::Bool(and)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(name: &str) -> Expr {
        Expr::Property(name.into())
    }

    fn int(v: i64) -> Expr {
        Expr::Constant(Constant::Int(v))
    }

    fn props(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in pairs {
            out.extend_from_slice(k.as_bytes());
            out.push(1);
            out.extend_from_slice(v.as_bytes());
            out.push(2);
        }
        out
    }

    #[test]
    fn comparisons_read_properties_as_the_constant_type() {
        let ge = Expr::Order(
            OrderOp::GreaterOrEqual,
            Box::new(prop("a")),
            Box::new(int(5)),
        );
        let bytes = props(&[("a", "7"), ("b", "x")]);
        assert!(ge.matches(&EncodedProperties(&bytes)));
        let bytes = props(&[("a", "4")]);
        assert!(!ge.matches(&EncodedProperties(&bytes)));
        let bytes = props(&[("a", "4.5")]);
        assert_eq!(
            ge.evaluate(&EncodedProperties(&bytes)),
            Err(super::super::java_values::EvaluationError)
        );
        assert_eq!(ge.evaluate(&EncodedProperties(b"")), Ok(Value::Null));
    }

    #[test]
    fn unknown_and_false_follow_sql_three_valued_logic() {
        let a_is_1 = Box::new(Expr::Equal(Box::new(prop("a")), Box::new(int(1))));
        let b_is_1 = Box::new(Expr::Equal(Box::new(prop("b")), Box::new(int(1))));
        let or = Expr::Or(a_is_1.clone(), b_is_1.clone());
        let and = Expr::And(a_is_1, b_is_1);
        let only_b = props(&[("b", "1")]);
        assert_eq!(
            or.evaluate(&EncodedProperties(&only_b)),
            Ok(Value::Bool(true))
        );
        assert_eq!(and.evaluate(&EncodedProperties(&only_b)), Ok(Value::Null));
        let b_false = props(&[("b", "2")]);
        assert_eq!(
            and.evaluate(&EncodedProperties(&b_false)),
            Ok(Value::Bool(false))
        );
        let not = Expr::Not(Box::new(and));
        assert_eq!(not.evaluate(&EncodedProperties(&only_b)), Ok(Value::Null));
    }

    #[test]
    fn in_lists_need_the_property() {
        let members = ["3", "4"].iter().map(|s| (*s).to_string()).collect();
        let not_in = Expr::In {
            property: "a".into(),
            members,
            negated: true,
        };
        let bytes = props(&[("a", "5")]);
        assert!(not_in.matches(&EncodedProperties(&bytes)));
        assert!(!not_in.matches(&EncodedProperties(b"")));
    }
}
