//! Numeric functions.

use super::{fmt_number, Args, FunctionContext, FunctionError};
use crate::config::Value;

type Result = std::result::Result<Value, FunctionError>;

fn numbers(a: &Args) -> std::result::Result<Vec<f64>, FunctionError> {
    (0..a.len()).map(|i| a.number(i)).collect()
}

pub(super) fn min(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::Number(numbers(a)?.into_iter().fold(f64::INFINITY, f64::min)))
}

pub(super) fn max(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::Number(numbers(a)?.into_iter().fold(f64::NEG_INFINITY, f64::max)))
}

pub(super) fn abs(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::Number(a.number(0)?.abs()))
}

pub(super) fn ceil(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::Number(a.number(0)?.ceil()))
}

pub(super) fn floor(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::Number(a.number(0)?.floor()))
}

pub(super) fn pow(_: &FunctionContext, a: &Args) -> Result {
    let result = a.number(0)?.powf(a.number(1)?);
    if !result.is_finite() {
        return Err(a.fail("the result is not a finite number"));
    }
    Ok(Value::Number(result))
}

pub(super) fn signum(_: &FunctionContext, a: &Args) -> Result {
    let n = a.number(0)?;
    Ok(Value::Number(if n > 0.0 {
        1.0
    } else if n < 0.0 {
        -1.0
    } else {
        0.0
    }))
}

pub(super) fn log(_: &FunctionContext, a: &Args) -> Result {
    let (n, base) = (a.number(0)?, a.number(1)?);
    let result = n.ln() / base.ln();
    if !result.is_finite() {
        return Err(a.fail(format!("log of {} in base {} is not a finite number", fmt_number(n), fmt_number(base))));
    }
    Ok(Value::Number(result))
}

const DIGITS: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

pub(super) fn parseint(_: &FunctionContext, a: &Args) -> Result {
    let text = a.string(0)?;
    let base = a.int(1)?;
    if !(2..=62).contains(&base) {
        return Err(a.err(1, format!("base must be between 2 and 62, got {base}")));
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(&text)),
    };
    if digits.is_empty() {
        return Err(a.err(0, format!("{text:?} is not a number in base {base}")));
    }
    let mut value: f64 = 0.0;
    for c in digits.chars() {
        // bases up to 36 ignore case, like Go's strconv
        let lookup = if base <= 36 { c.to_ascii_lowercase() } else { c };
        match DIGITS.find(lookup).filter(|d| (*d as i64) < base) {
            Some(d) => value = value * base as f64 + d as f64,
            None => return Err(a.err(0, format!("{text:?} is not a number in base {base}"))),
        }
    }
    if value > 9.007_199_254_740_992e15 {
        return Err(a.err(0, format!("{text:?} is too large to represent exactly")));
    }
    Ok(Value::Number(if negative { -value } else { value }))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    #[test]
    fn min_max() {
        assert_eq!(ok("min", vec![n(3.0), n(-1.0), n(2.0)]), n(-1.0));
        assert_eq!(ok("max", vec![n(3.0), s("7"), n(2.0)]), n(7.0));
        assert_eq!(err("max", vec![n(1.0), s("x")]).arg, Some(1));
        assert!(err("min", vec![]).message.contains("at least 1 argument"));
    }

    #[test]
    fn rounding_and_powers() {
        assert_eq!(ok("abs", vec![n(-2.5)]), n(2.5));
        assert_eq!(ok("ceil", vec![n(1.1)]), n(2.0));
        assert_eq!(ok("floor", vec![n(-1.1)]), n(-2.0));
        assert_eq!(ok("pow", vec![n(2.0), n(10.0)]), n(1024.0));
        assert!(err("pow", vec![n(10.0), n(400.0)]).message.contains("finite"));
        assert_eq!(err("abs", vec![s("x")]).arg, Some(0));
    }

    #[test]
    fn signum_and_log() {
        assert_eq!(ok("signum", vec![n(-7.5)]), n(-1.0));
        assert_eq!(ok("signum", vec![n(0.0)]), n(0.0));
        assert_eq!(ok("log", vec![n(16.0), n(2.0)]), n(4.0));
        assert!(err("log", vec![n(0.0), n(2.0)]).message.contains("not a finite number"));
    }

    #[test]
    fn parseint_bases() {
        assert_eq!(ok("parseint", vec![s("FF"), n(16.0)]), n(255.0));
        assert_eq!(ok("parseint", vec![s("-101"), n(2.0)]), n(-5.0));
        assert_eq!(ok("parseint", vec![s("Z"), n(62.0)]), n(61.0));
        assert!(err("parseint", vec![s("12"), n(2.0)]).message.contains("not a number in base 2"));
        assert_eq!(err("parseint", vec![s("1"), n(1.0)]).arg, Some(1));
        assert!(err("parseint", vec![s(""), n(10.0)]).message.contains("not a number"));
    }
}
