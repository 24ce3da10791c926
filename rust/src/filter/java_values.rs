//! How RocketMQ's SQL92 filter compares values: Java's `ComparisonExpression` with string
//! conversion on (as `SelectorParser` always sets it).
//!
//! Message properties are strings; a string meets a number by being parsed as that number's
//! Java type, and a parse failure is an evaluation error, which means "no match".

use std::cmp::Ordering;

/// A value with its Java type: `Int` is an Integer (kept in i64 so negation cannot wrap
/// where Python's evaluator did not), `Long` a Long, `Double` a Double.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Long(i64),
    Double(f64),
    Str(&'a str),
}

/// What Java throws while evaluating (`NumberFormatException`, `ClassCastException`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvaluationError;

pub type Eval<T> = Result<T, EvaluationError>;

/// `Integer.valueOf` (`Long.valueOf` with Long's bounds): an optional sign, ASCII digits.
fn parse_integer(text: &str, low: i64, high: i64) -> Eval<i64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EvaluationError);
    }
    let mut value: i128 = 0;
    for b in digits.bytes() {
        value = value * 10 + i128::from(b - b'0');
        if value > i128::from(i64::MAX) + 1 {
            return Err(EvaluationError);
        }
    }
    let value = if negative { -value } else { value };
    if value < i128::from(low) || value > i128::from(high) {
        return Err(EvaluationError);
    }
    i64::try_from(value).map_err(|_| EvaluationError)
}

fn parse_int(text: &str) -> Eval<i64> {
    parse_integer(text, i64::from(i32::MIN), i64::from(i32::MAX))
}

fn parse_long(text: &str) -> Eval<i64> {
    parse_integer(text, i64::MIN, i64::MAX)
}

/// `Double.valueOf`: control characters and spaces trimmed, `NaN`, `Infinity`, decimal with
/// optional exponent and a `d`/`f` suffix.
///
/// # Errors
/// Anything else (Java's `NumberFormatException`).
pub fn parse_double(text: &str) -> Eval<f64> {
    let trimmed = text.trim_matches(|c: char| c <= ' ');
    let (sign, rest) = match trimmed.as_bytes().first() {
        Some(b'-') => (-1.0, &trimmed[1..]),
        Some(b'+') => (1.0, &trimmed[1..]),
        _ => (1.0, trimmed),
    };
    if rest == "NaN" {
        return Ok(f64::NAN);
    }
    if rest == "Infinity" {
        return Ok(sign * f64::INFINITY);
    }
    let number = rest.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(rest);
    if !is_java_decimal(number) {
        return Err(EvaluationError);
    }
    number
        .parse::<f64>()
        .map(|v| sign * v)
        .map_err(|_| EvaluationError)
}

/// `digits [. digits] [e [sign] digits]` or `. digits [...]`, ASCII only.
fn is_java_decimal(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut at = 0;
    let int_digits = count_digits(&bytes[at..]);
    at += int_digits;
    let mut frac_digits = 0;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        frac_digits = count_digits(&bytes[at..]);
        at += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let exp_digits = count_digits(&bytes[at..]);
        if exp_digits == 0 {
            return false;
        }
        at += exp_digits;
    }
    at == bytes.len()
}

fn count_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// `Double.compareTo`: NaN above everything and equal to itself.
fn order_doubles(l: f64, r: f64) -> i32 {
    match (l.is_nan(), r.is_nan()) {
        (true, true) => 0,
        (true, false) => 1,
        (false, true) => -1,
        _ => ordering(l.partial_cmp(&r).unwrap_or(Ordering::Equal)),
    }
}

fn ordering(o: Ordering) -> i32 {
    match o {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

#[allow(clippy::cast_precision_loss)] // Java widens long to double the same way
fn widen(v: i64) -> f64 {
    v as f64
}

/// Java's three-way comparison after converting both operands to one type; types that do
/// not meet compare as "less" (-1), as Java answers.
///
/// # Errors
/// A string that does not parse as the other side's number, a Boolean met by a String.
pub fn compare(lv: &Value<'_>, rv: &Value<'_>) -> Eval<i32> {
    use Value::{Bool, Double, Int, Long, Null, Str};
    Ok(match (lv, rv) {
        (Bool(l), Bool(r)) => ordering(l.cmp(r)),
        (Int(l) | Long(l), Int(r) | Long(r)) => ordering(l.cmp(r)),
        (Double(l), Double(r)) => order_doubles(*l, *r),
        (Str(l), Str(r)) => ordering(l.cmp(r)),
        // Java casts the Boolean to String here and throws ClassCastException.
        (Bool(_), Str(_)) => return Err(EvaluationError),
        (Int(l) | Long(l), Double(r)) => order_doubles(widen(*l), *r),
        (Double(l), Int(r) | Long(r)) => order_doubles(*l, widen(*r)),
        (Int(l), Str(r)) => ordering(l.cmp(&parse_int(r)?)),
        (Long(l), Str(r)) => ordering(l.cmp(&parse_long(r)?)),
        (Double(l), Str(r)) => order_doubles(*l, parse_double(r)?),
        (Str(l), Bool(r)) => ordering(l.eq_ignore_ascii_case("true").cmp(r)),
        (Str(l), Int(r)) => ordering(parse_int(l)?.cmp(r)),
        (Str(l), Long(r)) => ordering(parse_long(l)?.cmp(r)),
        (Str(l), Double(r)) => order_doubles(parse_double(l)?, *r),
        (Null, Null) => 0,
        _ => -1,
    })
}

/// `=`: unknown (None) when only the left side is missing, as Java answers.
///
/// # Errors
/// As [`compare`], for operands of different types.
pub fn equal(lv: &Value<'_>, rv: &Value<'_>) -> Eval<Option<bool>> {
    match (lv, rv) {
        (Value::Null, Value::Null) => Ok(Some(true)),
        (Value::Null, _) => Ok(None),
        (_, Value::Null) => Ok(Some(false)),
        _ if same_type_equal(lv, rv) => Ok(Some(true)),
        _ => Ok(Some(compare(lv, rv)? == 0)),
    }
}

#[allow(clippy::float_cmp)] // exact equality is the SQL `=`; anything else goes to compare
fn same_type_equal(lv: &Value<'_>, rv: &Value<'_>) -> bool {
    match (lv, rv) {
        (Value::Int(l), Value::Int(r)) | (Value::Long(l), Value::Long(r)) => l == r,
        (Value::Bool(l), Value::Bool(r)) => l == r,
        (Value::Double(l), Value::Double(r)) => l == r,
        (Value::Str(l), Value::Str(r)) => l == r,
        _ => false,
    }
}

/// `< <= > >=`: two strings must both read as numbers; None when either is missing.
///
/// # Errors
/// As [`compare`], and two strings that are not both numbers.
pub fn order(lv: &Value<'_>, rv: &Value<'_>) -> Eval<Option<i32>> {
    match (lv, rv) {
        (Value::Null, _) | (_, Value::Null) => Ok(None),
        (Value::Str(l), Value::Str(r)) => {
            Ok(Some(order_doubles(parse_double(l)?, parse_double(r)?)))
        }
        _ => compare(lv, rv).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_like_integer_value_of() {
        assert_eq!(parse_int("+42"), Ok(42));
        assert_eq!(parse_int("-2147483648"), Ok(-2_147_483_648));
        assert_eq!(parse_int("2147483648"), Err(EvaluationError));
        assert_eq!(parse_long("2147483648"), Ok(2_147_483_648));
        assert_eq!(parse_long("99999999999999999999999"), Err(EvaluationError));
        for bad in ["", "-", "1.0", " 1", "0x1", "١"] {
            assert_eq!(parse_int(bad), Err(EvaluationError), "{bad:?}");
        }
    }

    #[test]
    fn doubles_parse_like_double_value_of() {
        assert_eq!(parse_double(" 3.5d\n"), Ok(3.5));
        assert_eq!(parse_double(".5"), Ok(0.5));
        assert_eq!(parse_double("5."), Ok(5.0));
        assert_eq!(parse_double("-1e3"), Ok(-1000.0));
        assert_eq!(parse_double("-Infinity"), Ok(f64::NEG_INFINITY));
        assert!(parse_double("NaN").unwrap().is_nan());
        for bad in ["", ".", "e5", "1e", "inf", "nan", "1.2.3", "1f5"] {
            assert_eq!(parse_double(bad), Err(EvaluationError), "{bad:?}");
        }
    }

    #[test]
    fn mixed_types_convert_the_string_side() {
        assert_eq!(compare(&Value::Str("10"), &Value::Int(9)), Ok(1));
        assert_eq!(
            compare(&Value::Str("3.5"), &Value::Int(3)),
            Err(EvaluationError)
        );
        assert_eq!(compare(&Value::Int(3), &Value::Double(3.0)), Ok(0));
        assert_eq!(compare(&Value::Str("TRUE"), &Value::Bool(true)), Ok(0));
        assert_eq!(
            compare(&Value::Bool(true), &Value::Str("true")),
            Err(EvaluationError)
        );
        assert_eq!(compare(&Value::Bool(true), &Value::Int(1)), Ok(-1));
        assert_eq!(order(&Value::Str("10"), &Value::Str("9")), Ok(Some(1)));
        assert_eq!(order(&Value::Null, &Value::Int(1)), Ok(None));
        assert_eq!(equal(&Value::Null, &Value::Int(1)), Ok(None));
        assert_eq!(equal(&Value::Int(1), &Value::Null), Ok(Some(false)));
        assert_eq!(
            equal(&Value::Double(f64::NAN), &Value::Double(f64::NAN)),
            Ok(Some(true))
        );
    }
}
