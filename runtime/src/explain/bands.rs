//! Banded values (a category from a score): where the score lies, how many points separate it
//! from the neighbouring bands, which criteria made it up, and which exception overrode the
//! bands, if one did.

use rust_decimal::Decimal;

use crate::exact::Number;
use serde::Serialize;

use super::expr::{self, Context};
use super::Quantity;
use crate::ir::{Band, BandTable, Body, Expr, ItemKind, Type, UnaryOp};
use crate::value::Value;

/// The position of one banded item's score in its bands.
#[derive(Debug, Clone, Serialize)]
pub struct BandPosition {
    /// The item whose value is the band's (`category`).
    pub item: String,
    /// The band table.
    pub bands: String,
    /// The score as written in the policy, and its value.
    pub score: String,
    pub score_value: Quantity,
    /// The band the score falls in: its label and value.
    pub band_label: String,
    pub band_value: Quantity,
    /// The item's value (differs from the band's when an exception gave it).
    pub value: Quantity,
    /// The exception that gave the value, when one did.
    pub exception: Option<String>,
    /// The points the score must gain to reach the next band up.
    pub to_next: Option<Neighbour>,
    /// The points the score must lose to fall to the band below.
    pub to_previous: Option<Neighbour>,
    /// When the score is a group's total: every member with a non-zero value, in group order.
    pub criteria: Vec<(String, Quantity)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Neighbour {
    pub points: Quantity,
    pub band_label: String,
    pub band_value: Quantity,
}

pub(crate) fn positions(context: &Context<'_>) -> Vec<BandPosition> {
    let policy = context.policy;
    let mut out = Vec::new();
    for (index, item) in policy.items.iter().enumerate() {
        if item.kind == ItemKind::Function {
            continue;
        }
        let banded = match &item.body {
            Body::Expr(Expr::Band(table, score)) => Some((*table, score)),
            Body::Exceptions {
                base: Expr::Band(table, score),
                ..
            } => Some((*table, score)),
            _ => None,
        };
        let Some((table_id, score)) = banded else {
            continue;
        };
        let (Some(node), Some(table)) = (
            u32::try_from(index)
                .ok()
                .and_then(|index| context.item_node(index)),
            policy.bands.get(table_id as usize),
        ) else {
            continue;
        };
        let Some(trace_node) = context.trace.nodes.get(node) else {
            continue;
        };
        let Some(score_value) = expr::value_of(context, score, &Vec::new()) else {
            continue;
        };
        let Some(position) = table
            .bands
            .iter()
            .position(|band| contains(band, &score_value))
        else {
            continue;
        };
        let band = &table.bands[position];
        let step = Number::Decimal(if table.domain == Type::Integer {
            Decimal::ONE
        } else {
            Decimal::new(1, 2)
        });
        let zero = Number::Decimal(Decimal::ZERO);
        // Distances are exact: a score that is a quotient is a ratio.
        let score_number = score_value.as_number();
        let to_next = table.bands.get(position + 1).and_then(|next| {
            let lower = next.lower.as_ref()?;
            let bound = lower.value.as_number()?;
            let points = bound
                .checked_sub(score_number?)
                .and_then(|points| points.checked_add(if lower.inclusive { zero } else { step }))
                .ok()?;
            Some(neighbour(context, table, next, points))
        });
        let to_previous = position
            .checked_sub(1)
            .and_then(|previous| table.bands.get(previous))
            .and_then(|previous| {
                let lower = band.lower.as_ref()?;
                let bound = lower.value.as_number()?;
                let points = score_number?
                    .checked_sub(bound)
                    .and_then(|points| {
                        points.checked_add(if lower.inclusive { step } else { zero })
                    })
                    .ok()?;
                Some(neighbour(context, table, previous, points))
            });
        out.push(BandPosition {
            item: item.name.clone(),
            bands: table.name.clone(),
            score: expr::render(policy, score, &Vec::new()),
            score_value: Quantity::of(policy, &score_value, Some(&table.domain)),
            band_label: band.label.clone(),
            band_value: Quantity::of(policy, &band.value, Some(&table.result)),
            value: Quantity::of(policy, &trace_node.value, trace_node.ty),
            exception: trace_node.exception.as_deref().map(String::from),
            to_next,
            to_previous,
            criteria: criteria(context, score, 0),
        });
    }
    out
}

fn neighbour(context: &Context<'_>, table: &BandTable, band: &Band, points: Number) -> Neighbour {
    let points = match points {
        Number::Decimal(points) if table.domain == Type::Integer => {
            i64::try_from(points).map_or(Quantity::Decimal(points), Quantity::Integer)
        }
        points => Quantity::Decimal(points.approximate()),
    };
    Neighbour {
        points,
        band_label: band.label.clone(),
        band_value: Quantity::of(context.policy, &band.value, Some(&table.result)),
    }
}

fn contains(band: &Band, value: &Value) -> bool {
    let above_lower = band.lower.as_ref().is_none_or(|lower| {
        value
            .compare(&lower.value)
            .is_some_and(|order| order.is_gt() || (lower.inclusive && order.is_eq()))
    });
    let below_upper = band.upper.as_ref().is_none_or(|upper| {
        value
            .compare(&upper.value)
            .is_some_and(|order| order.is_lt() || (upper.inclusive && order.is_eq()))
    });
    above_lower && below_upper
}

/// The group members behind a score that is a group's total (through definitions and
/// conversions), with their non-zero values.
fn criteria(context: &Context<'_>, score: &Expr, depth: usize) -> Vec<(String, Quantity)> {
    let policy = context.policy;
    if depth > 8 {
        return Vec::new();
    }
    match score {
        Expr::Unary(UnaryOp::IntegerToDecimal | UnaryOp::Retype, inner) => {
            criteria(context, inner, depth + 1)
        }
        Expr::Item(item) => match policy.items.get(*item as usize).map(|item| &item.body) {
            Some(Body::Expr(body)) => criteria(context, body, depth + 1),
            _ => Vec::new(),
        },
        Expr::GroupSum(group) => {
            let Some(group) = policy.groups.get(*group as usize) else {
                return Vec::new();
            };
            group
                .members
                .iter()
                .filter_map(|member| {
                    let item = policy.items.get(member.item as usize)?;
                    let node = context.trace.nodes.get(context.item_node(member.item)?)?;
                    let nonzero = node.value.as_number().is_some_and(|value| !value.is_zero());
                    nonzero.then(|| {
                        (
                            item.name.clone(),
                            Quantity::of(policy, &node.value, Some(&item.ty)),
                        )
                    })
                })
                .collect()
        }
        _ => Vec::new(),
    }
}
