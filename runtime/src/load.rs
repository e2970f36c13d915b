//! Loading a policy: cheap consistency checks on the IR, so that an IR referring to something
//! that does not exist is a [`LoadError`] now rather than a failure on some later case.

use std::sync::Arc;

use crate::error::LoadError;
use crate::ir::{Body, Builtin, Expr, ItemKind, Policy, Type, TypeDef, IR_FORMAT_VERSION};
use crate::operations::Prepared;
use crate::trace::TraceNames;
use crate::value::Value;

fn invalid(message: String) -> LoadError {
    LoadError::InvalidIr(message)
}

pub(crate) fn prepare(policy: &Policy) -> Result<Prepared, LoadError> {
    if policy.format_version != IR_FORMAT_VERSION {
        return Err(LoadError::UnsupportedFormat {
            found: policy.format_version,
            expected: IR_FORMAT_VERSION,
        });
    }
    let checker = Checker { policy };
    for definition in &policy.types {
        match definition {
            TypeDef::Record(record) => {
                for field in &record.fields {
                    checker.check_type(
                        &field.ty,
                        &format!("field `{}.{}`", record.name, field.name),
                    )?;
                }
            }
            TypeDef::Enum(_) => {}
        }
    }
    let input = checker.record_fields(policy.input.record, "the input record")?;
    for (what, field) in [
        ("id field", policy.input.id_field),
        ("as-of field", policy.input.as_of_field),
    ] {
        if let Some(index) = field {
            if index as usize >= input {
                return Err(invalid(format!(
                    "the input's {what} {index} does not exist"
                )));
            }
        }
    }
    for param in &policy.params {
        checker.check_type(&param.ty, &format!("parameter `{}`", param.name))?;
        if param
            .values
            .windows(2)
            .any(|pair| pair[0].from >= pair[1].from)
        {
            return Err(invalid(format!(
                "the values of parameter `{}` are not in increasing date order",
                param.name
            )));
        }
    }
    for table in &policy.tables {
        let context = format!("table `{}`", table.name);
        checker.record_fields(table.row_type, &context)?;
        for ty in &table.key_types {
            checker.check_type(ty, &context)?;
        }
        if table
            .rows
            .iter()
            .any(|row| row.key.len() != table.key_types.len())
        {
            return Err(invalid(format!(
                "a row of {context} has a key of the wrong length"
            )));
        }
    }
    for band in &policy.bands {
        let context = format!("band table `{}`", band.name);
        checker.check_type(&band.domain, &context)?;
        checker.check_type(&band.result, &context)?;
    }
    for group in &policy.groups {
        let context = format!("group `{}`", group.name);
        checker.check_type(&group.element, &context)?;
        for member in &group.members {
            match policy.items.get(member.item as usize) {
                Some(item) if item.kind != ItemKind::Function => {}
                _ => {
                    return Err(invalid(format!(
                        "{context} has a member that is not a definition or rule"
                    )))
                }
            }
        }
    }
    let mut item_frames = Vec::with_capacity(policy.items.len());
    for item in &policy.items {
        let context = format!("item `{}`", item.name);
        checker.check_type(&item.ty, &context)?;
        for (_, ty) in &item.params {
            checker.check_type(ty, &context)?;
        }
        if item.module as usize >= policy.modules.len() && !policy.modules.is_empty() {
            return Err(invalid(format!(
                "{context} names a module that does not exist"
            )));
        }
        let mut slots = item
            .locals
            .max(u32::try_from(item.params.len()).unwrap_or(u32::MAX));
        match &item.body {
            Body::Expr(expr) => checker.check_expr(expr, &context, &mut slots)?,
            Body::Exceptions { base, exceptions } => {
                checker.check_expr(base, &context, &mut slots)?;
                for exception in exceptions {
                    checker.check_expr(&exception.condition, &context, &mut slots)?;
                    checker.check_expr(&exception.value, &context, &mut slots)?;
                }
            }
        }
        item_frames.push(slots);
    }
    let mut output_frames = Vec::with_capacity(policy.outputs.len());
    for output in &policy.outputs {
        let context = format!("output `{}`", output.name);
        checker.check_type(&output.ty, &context)?;
        let mut slots = 0;
        checker.check_expr(&output.expr, &context, &mut slots)?;
        output_frames.push(slots);
    }
    let item_names: Vec<Arc<str>> = policy
        .items
        .iter()
        .map(|item| Arc::from(item.name.as_str()))
        .collect();
    let item_keys = policy
        .items
        .iter()
        .map(|item| crate::value::Key::name(&item.name))
        .collect();
    let trace_names = TraceNames::new(policy);
    Ok(Prepared {
        item_names,
        item_keys,
        item_frames,
        output_frames,
        trace_names,
    })
}

struct Checker<'p> {
    policy: &'p Policy,
}

impl Checker<'_> {
    /// The number of fields of record type `id`.
    fn record_fields(&self, id: u32, context: &str) -> Result<usize, LoadError> {
        match self.policy.types.get(id as usize) {
            Some(TypeDef::Record(record)) => Ok(record.fields.len()),
            _ => Err(invalid(format!(
                "{context} refers to type {id}, which is not a record type"
            ))),
        }
    }

    fn check_type(&self, ty: &Type, context: &str) -> Result<(), LoadError> {
        match ty {
            Type::Enum(id) => match self.policy.types.get(*id as usize) {
                Some(TypeDef::Enum(_)) => Ok(()),
                _ => Err(invalid(format!(
                    "{context} refers to type {id}, which is not an enum type"
                ))),
            },
            Type::Record(id) => self.record_fields(*id, context).map(|_| ()),
            Type::List(inner) | Type::Optional(inner) | Type::Map(inner) => {
                self.check_type(inner, context)
            }
            Type::Object(fields) => fields
                .iter()
                .try_for_each(|(_, ty)| self.check_type(ty, context)),
            _ => Ok(()),
        }
    }

    fn slot(slots: &mut u32, slot: u32) {
        *slots = (*slots).max(slot.saturating_add(1));
    }

    fn check_expr(&self, expr: &Expr, context: &str, slots: &mut u32) -> Result<(), LoadError> {
        let policy = self.policy;
        let missing = |what: &str, id: u32| {
            Err(invalid(format!(
                "{context} refers to {what} {id}, which does not exist"
            )))
        };
        match expr {
            Expr::Const(_) | Expr::Input | Expr::AsOf => {}
            Expr::Local(slot) => Self::slot(slots, *slot),
            Expr::Item(id) | Expr::ExceptionApplied(id) => match policy.items.get(*id as usize) {
                Some(item) if item.kind != ItemKind::Function => {}
                Some(_) => {
                    return Err(invalid(format!(
                        "{context} uses function {id} without calling it"
                    )))
                }
                None => return missing("item", *id),
            },
            Expr::Call(id, args) => {
                match policy.items.get(*id as usize) {
                    Some(item) if item.params.len() == args.len() => {}
                    Some(item) => {
                        return Err(invalid(format!(
                            "{context} calls `{}` with {} arguments instead of {}",
                            item.name,
                            args.len(),
                            item.params.len()
                        )))
                    }
                    None => return missing("item", *id),
                }
                for arg in args {
                    self.check_expr(arg, context, slots)?;
                }
            }
            Expr::Param { param, at } => {
                if policy.params.get(*param as usize).is_none() {
                    return missing("parameter", *param);
                }
                if let Some(at) = at {
                    self.check_expr(at, context, slots)?;
                }
            }
            Expr::Field(inner, _)
            | Expr::Unary(_, inner)
            | Expr::IsPresent(inner)
            | Expr::First(inner) => self.check_expr(inner, context, slots)?,
            Expr::Binary(_, left, right)
            | Expr::And(left, right)
            | Expr::Or(left, right)
            | Expr::Coalesce(left, right) => {
                self.check_expr(left, context, slots)?;
                self.check_expr(right, context, slots)?;
            }
            Expr::If {
                condition,
                then,
                otherwise,
            } => {
                self.check_expr(condition, context, slots)?;
                self.check_expr(then, context, slots)?;
                self.check_expr(otherwise, context, slots)?;
            }
            Expr::Match { scrutinee, arms } => {
                self.check_expr(scrutinee, context, slots)?;
                for arm in arms {
                    if let Some(bind) = arm.bind {
                        Self::slot(slots, bind);
                    }
                    self.check_expr(&arm.body, context, slots)?;
                }
            }
            Expr::Aggregate {
                var,
                list,
                filter,
                body,
                ..
            } => {
                Self::slot(slots, *var);
                self.check_expr(list, context, slots)?;
                for part in [filter, body].into_iter().flatten() {
                    self.check_expr(part, context, slots)?;
                }
            }
            Expr::MapOf {
                var,
                list,
                filter,
                key,
                value,
            } => {
                Self::slot(slots, *var);
                self.check_expr(list, context, slots)?;
                if let Some(filter) = filter {
                    self.check_expr(filter, context, slots)?;
                }
                self.check_expr(key, context, slots)?;
                self.check_expr(value, context, slots)?;
            }
            Expr::List(items) => {
                for item in items {
                    self.check_expr(item, context, slots)?;
                }
            }
            Expr::Object(fields) => {
                for (_, field) in fields {
                    self.check_expr(field, context, slots)?;
                }
            }
            Expr::Builtin(builtin, args) => {
                if matches!(builtin, Builtin::AddWorkingDays | Builtin::IsWorkingDay) {
                    if let Some(Expr::Const(Value::Integer(calendar))) = args.first() {
                        let exists = usize::try_from(*calendar)
                            .is_ok_and(|index| index < policy.calendars.len());
                        if !exists {
                            return Err(invalid(format!(
                                "{context} refers to calendar {calendar}, which does not exist"
                            )));
                        }
                    }
                }
                for arg in args {
                    self.check_expr(arg, context, slots)?;
                }
            }
            Expr::Round { value, .. } => self.check_expr(value, context, slots)?,
            Expr::Band(band, value) | Expr::BandLabel(band, value) => {
                if policy.bands.get(*band as usize).is_none() {
                    return missing("band table", *band);
                }
                self.check_expr(value, context, slots)?;
            }
            Expr::Lookup(table, keys) => {
                match policy.tables.get(*table as usize) {
                    Some(found) if found.key_types.len() == keys.len() => {}
                    Some(found) => {
                        return Err(invalid(format!(
                            "{context} looks up table `{}` with {} keys instead of {}",
                            found.name,
                            keys.len(),
                            found.key_types.len()
                        )))
                    }
                    None => return missing("table", *table),
                }
                for key in keys {
                    self.check_expr(key, context, slots)?;
                }
            }
            Expr::Holding(group) | Expr::GroupSum(group) | Expr::GroupValues(group) => {
                if policy.groups.get(*group as usize).is_none() {
                    return missing("group", *group);
                }
            }
        }
        Ok(())
    }
}
