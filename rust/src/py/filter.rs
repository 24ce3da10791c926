//! `rmq._store.SqlFilter`: a SQL92 selector tree checked by Python's parser, rebuilt here
//! once per subscription so the store evaluates it per message without the GIL.
//!
//! The tree is nested tuples `(kind, *operands)`: `("null",)`, `("bool", b)`, `("int", n)`,
//! `("long", n)`, `("double", x)`, `("str", s)`, `("prop", name)`, `("as_bool", e)`,
//! `("not", e)`, `("neg", e)`, `("and", l, r)`, `("or", l, r)`, `("eq", l, r)`,
//! `("ord", op, l, r)` with op one of `> >= < <=`, `("in", name, [members], negated)`.
use std::collections::HashSet;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::filter::sql92::{Constant, EncodedProperties, Expr, OrderOp};

#[pyclass(name = "SqlFilter", module = "rmq._store", frozen)]
pub struct PySqlFilter {
    pub(crate) expr: Expr,
}

#[pymethods]
impl PySqlFilter {
    #[new]
    fn new(tree: &Bound<'_, PyTuple>) -> PyResult<Self> {
        Ok(Self { expr: build(tree)? })
    }

    /// Whether a message with these encoded properties (`name 0x01 value 0x02 ...`)
    /// matches: TRUE only, unknown and evaluation errors are no match.
    fn matches(&self, properties: &[u8]) -> bool {
        self.expr.matches(&EncodedProperties(properties))
    }
}

fn operand(tree: &Bound<'_, PyTuple>, at: usize) -> PyResult<Box<Expr>> {
    Ok(Box::new(build(tree.get_item(at)?.cast::<PyTuple>()?)?))
}

fn build(tree: &Bound<'_, PyTuple>) -> PyResult<Expr> {
    let kind: String = tree.get_item(0)?.extract()?;
    Ok(match kind.as_str() {
        "null" => Expr::Constant(Constant::Null),
        "bool" => Expr::Constant(Constant::Bool(tree.get_item(1)?.extract()?)),
        "int" => Expr::Constant(Constant::Int(tree.get_item(1)?.extract()?)),
        "long" => Expr::Constant(Constant::Long(tree.get_item(1)?.extract()?)),
        "double" => Expr::Constant(Constant::Double(tree.get_item(1)?.extract()?)),
        "str" => Expr::Constant(Constant::Str(tree.get_item(1)?.extract()?)),
        "prop" => Expr::Property(tree.get_item(1)?.extract()?),
        "as_bool" => Expr::AsBoolean(operand(tree, 1)?),
        "not" => Expr::Not(operand(tree, 1)?),
        "neg" => Expr::Negate(operand(tree, 1)?),
        "and" => Expr::And(operand(tree, 1)?, operand(tree, 2)?),
        "or" => Expr::Or(operand(tree, 1)?, operand(tree, 2)?),
        "eq" => Expr::Equal(operand(tree, 1)?, operand(tree, 2)?),
        "ord" => {
            let op = match tree.get_item(1)?.extract::<String>()?.as_str() {
                ">" => OrderOp::Greater,
                ">=" => OrderOp::GreaterOrEqual,
                "<" => OrderOp::Less,
                "<=" => OrderOp::LessOrEqual,
                other => return Err(PyValueError::new_err(format!("unknown order {other:?}"))),
            };
            Expr::Order(op, operand(tree, 2)?, operand(tree, 3)?)
        }
        "in" => Expr::In {
            property: tree.get_item(1)?.extract()?,
            members: tree
                .get_item(2)?
                .extract::<Vec<String>>()?
                .into_iter()
                .collect::<HashSet<String>>(),
            negated: tree.get_item(3)?.extract()?,
        },
        other => return Err(PyValueError::new_err(format!("unknown node {other:?}"))),
    })
}
