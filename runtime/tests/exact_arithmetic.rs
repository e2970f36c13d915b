//! Exact arithmetic (LANGUAGE.md, "Exact arithmetic"; issue 15), as a property: random
//! expressions of the language's arithmetic (sums, products, quotients by small and large
//! numbers, differences multiplied back, minima and maxima, roundings in every mode, comparisons
//! with bounds next to the exact value, and ASP amounts that are exact ties on purpose) are
//! evaluated by the interpreter, the closure evaluator and the arithmetic of native code (the
//! helpers generated code calls, composed as the emitter composes them), and each result is
//! checked against an independent exact implementation here: rationals of big integers
//! (`num-rational`), with the language's range (a magnitude within `Decimal::MAX`, a reduced
//! fraction within `i128`, a rounded result within a decimal's 96 bits) checked after every
//! operation. A value must also have its canonical form: a decimal when it is one, the reduced
//! fraction `"n/d"` otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::str::FromStr;

use common::*;
use ereje_runtime::ir::*;
use ereje_runtime::native::{self, Number};
use ereje_runtime::value::Value;
use ereje_runtime::EvalOptions;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};
use rust_decimal::Decimal;

/// How many expressions the property is checked on.
const EXPRESSIONS: usize = 100_000;
/// How many expressions share one policy (one output each).
const BATCH: usize = 250;

/// An arithmetic expression of Decimal type.
#[derive(Debug, Clone)]
enum Arith {
    Const(Decimal),
    Binary(BinaryOp, Box<Arith>, Box<Arith>),
    Round(Box<Arith>, u32, RoundingMode),
    Min(Box<Arith>, Box<Arith>),
    Max(Box<Arith>, Box<Arith>),
}

/// An output: a number, or a comparison of two numbers.
#[derive(Debug, Clone)]
enum Subject {
    Number(Arith),
    Compare(BinaryOp, Arith, Arith),
}

/// What an expression gives: a number, a boolean, or the code of an evaluation error.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Number(BigRational),
    Bool(bool),
    Error(&'static str),
}

const OVERFLOW: &str = "eval.overflow";
const DIVISION_BY_ZERO: &str = "eval.division_by_zero";

struct Random(u64);

impl Random {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }

    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }

    fn decimal(&mut self) -> Decimal {
        let (mantissa, scale): (i128, u32) = match self.below(8) {
            0 => (self.below(13) as i128, 0),
            1 | 2 => (self.below(10_000_000) as i128, 2),
            3 => (self.below(1_000_000) as i128, self.below(7) as u32),
            4 => (self.below(u64::MAX) as i128 * 1000, self.below(5) as u32),
            5 => (self.below(100) as i128, 0),
            6 => (self.below(1_000) as i128 * 5, 1),
            _ => (self.below(4_000_000) as i128, 0),
        };
        let sign = if self.chance(6) { -1 } else { 1 };
        Decimal::from_i128_with_scale(sign * mantissa, scale)
    }

    /// A divisor: a family size, a large whole number, or a decimal (never written zero; a
    /// divisor computed by a subexpression may be).
    fn divisor(&mut self, depth: u32) -> Arith {
        match self.below(6) {
            0 | 1 => Arith::Const(Decimal::from(1 + self.below(12))),
            2 => Arith::Const(Decimal::from(1_000_000 + self.below(1_000_000_000_000))),
            3 => Arith::Const(Decimal::new(
                1 + self.below(999) as i64,
                self.below(4) as u32,
            )),
            _ => self.arith(depth),
        }
    }

    fn mode(&mut self) -> RoundingMode {
        [
            RoundingMode::HalfUp,
            RoundingMode::HalfEven,
            RoundingMode::Down,
            RoundingMode::Up,
        ][self.below(4) as usize]
    }

    fn arith(&mut self, depth: u32) -> Arith {
        if depth == 0 || self.chance(5) {
            return Arith::Const(self.decimal());
        }
        let next = depth - 1;
        let boxed = |arith: Arith| Box::new(arith);
        match self.below(12) {
            0 => Arith::Binary(
                BinaryOp::AddDecimal,
                boxed(self.arith(next)),
                boxed(self.arith(next)),
            ),
            1 => Arith::Binary(
                BinaryOp::SubDecimal,
                boxed(self.arith(next)),
                boxed(self.arith(next)),
            ),
            2 => Arith::Binary(
                BinaryOp::MulDecimal,
                boxed(self.arith(next)),
                boxed(self.arith(next)),
            ),
            3 | 4 => Arith::Binary(
                BinaryOp::DivDecimal,
                boxed(self.arith(next)),
                boxed(self.divisor(next)),
            ),
            5 => {
                let places = self.below(4) as u32;
                let mode = self.mode();
                Arith::Round(boxed(self.arith(next)), places, mode)
            }
            6 => Arith::Min(boxed(self.arith(next)), boxed(self.arith(next))),
            7 => Arith::Max(boxed(self.arith(next)), boxed(self.arith(next))),
            8 => {
                // A quotient multiplied back by its divisor.
                let divisor = self.divisor(0);
                let quotient = Arith::Binary(
                    BinaryOp::DivDecimal,
                    boxed(self.arith(next)),
                    boxed(divisor.clone()),
                );
                Arith::Binary(BinaryOp::MulDecimal, boxed(quotient), boxed(divisor))
            }
            9 => {
                // A difference with a quotient, multiplied back: the shape of the ASP amount.
                let divisor = self.divisor(0);
                let quotient = Arith::Binary(
                    BinaryOp::DivDecimal,
                    boxed(self.arith(next)),
                    boxed(divisor.clone()),
                );
                let difference = Arith::Binary(
                    BinaryOp::SubDecimal,
                    boxed(self.arith(next)),
                    boxed(quotient),
                );
                Arith::Binary(BinaryOp::MulDecimal, boxed(difference), boxed(divisor))
            }
            _ => self.tie(),
        }
    }

    /// `round((line − income ÷ 3 ÷ n) × n, 0, mode)` where income ÷ 3 ends in .5: the exact
    /// value is a tie.
    fn tie(&mut self) -> Arith {
        let half_thirds = 3 * (2 * self.below(2_000_000) as i64 + 1);
        let income = Decimal::new(half_thirds * 50, 2);
        let size = Decimal::from([3, 6, 7, 9, 11, 12, 13][self.below(7) as usize]);
        let line = Decimal::from(30_000 + self.below(10_000));
        let constant = |value: Decimal| Box::new(Arith::Const(value));
        let per_capita = Arith::Binary(
            BinaryOp::DivDecimal,
            Box::new(Arith::Binary(
                BinaryOp::DivDecimal,
                constant(income),
                constant(Decimal::from(3)),
            )),
            constant(size),
        );
        let amount = Arith::Binary(
            BinaryOp::MulDecimal,
            Box::new(Arith::Binary(
                BinaryOp::SubDecimal,
                constant(line),
                Box::new(per_capita),
            )),
            constant(size),
        );
        Arith::Round(Box::new(amount), 0, self.mode())
    }

    fn subject(&mut self) -> Subject {
        let depth = 1 + self.below(4) as u32;
        let arith = self.arith(depth);
        if !self.chance(3) {
            return Subject::Number(arith);
        }
        let op = [
            BinaryOp::Lt,
            BinaryOp::Le,
            BinaryOp::Gt,
            BinaryOp::Ge,
            BinaryOp::Eq,
            BinaryOp::Ne,
        ][self.below(6) as usize];
        // A bound next to the exact value (the value rounded, or a step either side of it),
        // where a rounded quotient would decide the other way; or any number.
        let bound = match reference(&arith) {
            Ok(value) if !self.chance(4) => {
                let places = self.below(5) as u32;
                let near = round_exact(&value, places, RoundingMode::HalfUp);
                let step =
                    BigRational::new(BigInt::one(), ten_to(places + 1 + self.below(20) as u32));
                let bound = match self.below(3) {
                    0 => near,
                    1 => near + step,
                    _ => near - step,
                };
                decimal_of(&bound)
                    .map(Arith::Const)
                    .unwrap_or_else(|| self.arith(0))
            }
            _ => self.arith(1),
        };
        Subject::Compare(op, arith, bound)
    }
}

fn ten_to(power: u32) -> BigInt {
    num_traits::pow(BigInt::from(10), power as usize)
}

fn exact(value: Decimal) -> BigRational {
    BigRational::new(BigInt::from(value.mantissa()), ten_to(value.scale()))
}

/// The decimal of an exact value, when it is one: a denominator of twos and fives, at most 28
/// places, a mantissa within 96 bits.
fn decimal_of(value: &BigRational) -> Option<Decimal> {
    (0..=28u32).find_map(|scale| {
        let scaled = value * BigRational::from_integer(ten_to(scale));
        if !scaled.is_integer() {
            return None;
        }
        let mantissa = scaled.to_integer().to_i128()?;
        Decimal::try_from_i128_with_scale(mantissa, scale).ok()
    })
}

fn largest() -> BigRational {
    exact(Decimal::MAX)
}

/// The language's range: a magnitude within `Decimal::MAX` and a reduced fraction within
/// `i128`; anything else is an overflow.
fn in_range(value: BigRational) -> Result<BigRational, &'static str> {
    let fits = value.abs() <= largest()
        && value.numer().to_i128().is_some()
        && value.denom().to_i128().is_some();
    if fits {
        Ok(value)
    } else {
        Err(OVERFLOW)
    }
}

/// `value` rounded to `places` by `mode`, exactly.
fn round_exact(value: &BigRational, places: u32, mode: RoundingMode) -> BigRational {
    let unit = BigRational::from_integer(ten_to(places));
    let scaled = value * &unit;
    let truncated = scaled.trunc();
    let rest = (&scaled - &truncated).abs();
    let half = BigRational::new(BigInt::one(), BigInt::from(2));
    let away = !rest.is_zero()
        && match mode {
            RoundingMode::HalfUp => rest >= half,
            RoundingMode::HalfEven => {
                rest > half
                    || (rest == half && !(truncated.to_integer() % BigInt::from(2)).is_zero())
            }
            RoundingMode::Down => false,
            RoundingMode::Up => true,
        };
    let rounded = if away {
        truncated + BigRational::from_integer(scaled.signum().to_integer())
    } else {
        truncated
    };
    rounded / unit
}

/// The independent exact value of an expression, evaluated left to right as the engine
/// evaluates it, with the first error.
fn reference(arith: &Arith) -> Result<BigRational, &'static str> {
    match arith {
        Arith::Const(value) => Ok(exact(*value)),
        Arith::Binary(op, left, right) => {
            let left = reference(left)?;
            let right = reference(right)?;
            in_range(match op {
                BinaryOp::AddDecimal => left + right,
                BinaryOp::SubDecimal => left - right,
                BinaryOp::MulDecimal => left * right,
                _ if right.is_zero() => return Err(DIVISION_BY_ZERO),
                _ => left / right,
            })
        }
        Arith::Round(value, places, mode) => {
            let value = reference(value)?;
            let rounded = round_exact(&value, *places, *mode);
            // A rounding makes a decimal of `places` places; a value that was not one already
            // must fit 96 bits at that scale.
            let mantissa = (&rounded * BigRational::from_integer(ten_to(*places))).abs();
            if decimal_of(&value).is_none() && mantissa > largest() {
                return Err(OVERFLOW);
            }
            Ok(rounded)
        }
        Arith::Min(left, right) => Ok(reference(left)?.min(reference(right)?)),
        Arith::Max(left, right) => Ok(reference(left)?.max(reference(right)?)),
    }
}

fn expected(subject: &Subject) -> Outcome {
    let outcome = match subject {
        Subject::Number(arith) => reference(arith).map(Outcome::Number),
        Subject::Compare(op, left, right) => reference(left).and_then(|left| {
            let right = reference(right)?;
            Ok(Outcome::Bool(match op {
                BinaryOp::Lt => left < right,
                BinaryOp::Le => left <= right,
                BinaryOp::Gt => left > right,
                BinaryOp::Ge => left >= right,
                BinaryOp::Eq => left == right,
                _ => left != right,
            }))
        }),
    };
    outcome.unwrap_or_else(Outcome::Error)
}

// ------------------------------------------------------------------ the evaluators

fn ir(arith: &Arith) -> Expr {
    match arith {
        Arith::Const(value) => Expr::Const(Value::Decimal(*value)),
        Arith::Binary(op, left, right) => binary(*op, ir(left), ir(right)),
        Arith::Round(value, places, mode) => Expr::Round {
            value: Box::new(ir(value)),
            places: *places,
            mode: *mode,
        },
        Arith::Min(left, right) => builtin(Builtin::Min2, vec![ir(left), ir(right)]),
        Arith::Max(left, right) => builtin(Builtin::Max2, vec![ir(left), ir(right)]),
    }
}

fn subject_ir(subject: &Subject) -> (Expr, Type) {
    match subject {
        Subject::Number(arith) => (ir(arith), Type::Decimal),
        Subject::Compare(op, left, right) => (binary(*op, ir(left), ir(right)), Type::Bool),
    }
}

/// An output's JSON as a value: `"1.5"`, `"7/3"` (which must be the canonical form: a decimal
/// is never written as a fraction, a fraction is reduced), `true`.
fn outcome_of_json(json: &serde_json::Value) -> Outcome {
    match json {
        serde_json::Value::Bool(flag) => Outcome::Bool(*flag),
        serde_json::Value::String(text) => match text.split_once('/') {
            Some((numerator, denominator)) => {
                let value = BigRational::new(
                    BigInt::from_str(numerator).unwrap(),
                    BigInt::from_str(denominator).unwrap(),
                );
                assert!(decimal_of(&value).is_none(), "{text} is a decimal");
                assert_eq!(
                    value.numer().to_string(),
                    numerator,
                    "{text} is not reduced"
                );
                Outcome::Number(value)
            }
            None => Outcome::Number(exact(Decimal::from_str(text).unwrap())),
        },
        other => panic!("unexpected output {other}"),
    }
}

/// The outcomes of the subjects by the interpreter and by the closure evaluator (which must
/// finish on its own), compared with each other; `traced` also evaluates with a trace.
fn evaluate(subjects: &[&Subject], traced: bool) -> Vec<Outcome> {
    let mut policy = base_policy();
    for (index, subject) in subjects.iter().enumerate() {
        let (expr, ty) = subject_ir(subject);
        policy.outputs.push(output(&format!("s{index}"), ty, expr));
    }
    let engine = engine(policy);
    let case = engine.read_case(CASE_JSON).unwrap();
    let plain = EvalOptions::default();
    let mut scratch = ereje_runtime::Scratch::default();
    let outcomes =
        |decision: Result<ereje_runtime::Decision, ereje_runtime::CaseError>| match decision {
            Ok(decision) => (0..subjects.len())
                .map(|index| outcome_of_json(&decision.output_json(&format!("s{index}")).unwrap()))
                .collect::<Vec<_>>(),
            Err(failure) => {
                let code = [OVERFLOW, DIVISION_BY_ZERO]
                    .into_iter()
                    .find(|code| *code == failure.code)
                    .unwrap_or_else(|| panic!("unexpected error {failure:?}"));
                vec![Outcome::Error(code); subjects.len()]
            }
        };
    let interpreted = outcomes(engine.evaluate_interpreted(&case, &plain, &mut scratch));
    let compiled = outcomes(engine.evaluate_with(&case, &plain, &mut scratch));
    assert_eq!(
        interpreted, compiled,
        "the interpreter and the closure evaluator disagree"
    );
    if !matches!(interpreted.first(), Some(Outcome::Error(_))) {
        assert!(
            engine.compiled_evaluates(&case, &plain),
            "the closure evaluator gave up on {subjects:?}"
        );
    }
    if traced {
        let options = EvalOptions {
            trace: true,
            ..EvalOptions::default()
        };
        let with_trace = outcomes(engine.evaluate_with(&case, &options, &mut scratch));
        assert_eq!(interpreted, with_trace, "evaluation with a trace disagrees");
    }
    interpreted
}

/// The arithmetic of native code: the helpers generated code calls, composed as the emitter
/// composes them (a decimal operand is a `Number`; giving up is `Err`).
fn native_number(arith: &Arith) -> native::Run<Number> {
    Ok(match arith {
        Arith::Const(value) => Number::Decimal(*value),
        Arith::Binary(op, left, right) => {
            let (left, right) = (native_number(left)?, native_number(right)?);
            match op {
                BinaryOp::AddDecimal => native::add_dec(left, right)?,
                BinaryOp::SubDecimal => native::sub_dec(left, right)?,
                BinaryOp::MulDecimal => native::mul_dec(left, right)?,
                _ => native::div_dec(left, right)?,
            }
        }
        Arith::Round(value, places, mode) => native::round(native_number(value)?, *places, *mode)?,
        Arith::Min(left, right) | Arith::Max(left, right) => {
            let (left, right) = (native_number(left)?, native_number(right)?);
            let less = native::cmp_dec(left, right) == native::Ordering::Less;
            if less == matches!(arith, Arith::Min(..)) {
                left
            } else {
                right
            }
        }
    })
}

fn native_outcome(subject: &Subject) -> Option<Outcome> {
    let number = |number: Number| match number {
        Number::Decimal(value) => Outcome::Number(exact(value)),
        Number::Ratio(ratio) => {
            let value = BigRational::new(
                BigInt::from(ratio.numerator()),
                BigInt::from(ratio.denominator()),
            );
            assert!(
                decimal_of(&value).is_none(),
                "the ratio {ratio} is a decimal"
            );
            Outcome::Number(value)
        }
    };
    match subject {
        Subject::Number(arith) => native_number(arith).ok().map(number),
        Subject::Compare(op, left, right) => {
            let left = native_number(left).ok()?;
            let right = native_number(right).ok()?;
            let ordering = native::cmp_dec(left, right);
            Some(Outcome::Bool(match op {
                BinaryOp::Lt => ordering.is_lt(),
                BinaryOp::Le => ordering.is_le(),
                BinaryOp::Gt => ordering.is_gt(),
                BinaryOp::Ge => ordering.is_ge(),
                BinaryOp::Eq => ordering.is_eq(),
                _ => ordering.is_ne(),
            }))
        }
    }
}

#[test]
fn every_evaluator_computes_as_exact_rationals_do() {
    let mut random = Random(0x000E_8AC7_A715_u64);
    let subjects: Vec<Subject> = (0..EXPRESSIONS).map(|_| random.subject()).collect();
    let expectations: Vec<Outcome> = subjects.iter().map(expected).collect();
    let (mut errors, mut ratios, mut ties) = (0, 0, 0);
    for (batch_index, batch) in subjects.chunks(BATCH).enumerate() {
        let offset = batch_index * BATCH;
        let expected = &expectations[offset..offset + batch.len()];
        // Expressions with an error are evaluated one by one: an error stops a whole decision.
        let (failing, valid): (Vec<usize>, Vec<usize>) =
            (0..batch.len()).partition(|index| matches!(expected[*index], Outcome::Error(_)));
        let valid_subjects: Vec<&Subject> = valid.iter().map(|index| &batch[*index]).collect();
        let outcomes = evaluate(&valid_subjects, batch_index % 10 == 0);
        for (index, outcome) in valid.iter().zip(outcomes) {
            assert_eq!(outcome, expected[*index], "{:?}", batch[*index]);
        }
        for index in failing {
            errors += 1;
            let outcome = evaluate(&[&batch[index]], false);
            assert_eq!(outcome[0], expected[index], "{:?}", batch[index]);
        }
        for (subject, expected) in batch.iter().zip(expected) {
            match (native_outcome(subject), expected) {
                // Native code gives up on an error, and the interpreter reports it.
                (None, Outcome::Error(_)) => {}
                (outcome, expected) => {
                    assert_eq!(outcome.as_ref(), Some(expected), "native code: {subject:?}")
                }
            }
            if let Outcome::Number(value) = expected {
                ratios += usize::from(decimal_of(value).is_none());
            }
            if let Subject::Number(Arith::Round(inner, 0, _)) = subject {
                ties += usize::from(reference(inner).is_ok_and(|value| {
                    value.fract().abs() == BigRational::new(BigInt::one(), BigInt::from(2))
                }));
            }
        }
    }
    // The generator reaches every kind of result: errors, values that do not terminate, ties.
    assert!(errors > EXPRESSIONS / 100, "{errors} errors");
    assert!(ratios > EXPRESSIONS / 10, "{ratios} ratios");
    assert!(ties > EXPRESSIONS / 100, "{ties} ties");
}
