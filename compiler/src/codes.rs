//! Every diagnostic code the compiler reports, with its meaning: the one place they are
//! written. A diagnostic is made with a [`Code`] (`Diagnostic::error(Code::NameUnknown, …)`),
//! never with a string, so a code cannot be misspelt or go undocumented; the broken-policy
//! corpus (`tests/tests/diagnostics.rs`) walks [`Code::ALL`] and fails for a code that no file
//! of `tests/diagnostics/` expects (unless [`Code::internal`] says no policy text can cause it).
//!
//! The texts (`name.unknown`, …) are stable: analysts' tools and the JSON rendering show them.

/// Declares [`Code`] with, for each variant, its stable text and its documented meaning (the
/// doc comment, which [`Code::meaning`] also returns).
macro_rules! codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $text:literal,)+) => {
        /// A diagnostic code (see the module's documentation).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl Code {
            /// Every code, in the order of this file.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)+];

            /// The stable text of the code, as diagnostics show it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)+
                }
            }

            /// What the code means, for people (its doc comment).
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Code::$variant => concat!($($doc),+).trim_ascii(),)+
                }
            }
        }
    };
}

codes! {
    /// The text does not follow the grammar.
    SyntaxError = "syntax.error",
    /// A date literal names no day of the calendar (`2025-02-30`).
    SyntaxBadDate = "syntax.bad_date",
    /// A month literal names no month (`2025-13`).
    SyntaxBadMonth = "syntax.bad_month",
    /// A quarter literal names no quarter (`2025-Q5`).
    SyntaxBadQuarter = "syntax.bad_quarter",
    /// A number literal cannot be held exactly as a decimal (too many digits).
    SyntaxBadNumber = "syntax.bad_number",
    /// Brackets are nested deeper than the parser accepts.
    SyntaxTooDeep = "syntax.too_deep",
    /// One item is longer than the parser accepts.
    SyntaxTooLarge = "syntax.too_large",
    /// The parser met a tree its grammar cannot give: a compiler bug, never the policy's fault.
    SyntaxInternal = "syntax.internal",
    /// A file does not begin with its module header. The parser reports a missing header as
    /// `syntax.error` first, so no policy text reaches it today; it guards the assembly of
    /// files against a parser that would let one through.
    ModuleHeader = "module.header",
    /// A module does not say from which date it is in force.
    ModuleNoDate = "module.no_date",
    /// Two files declare the same module.
    ModuleDuplicate = "module.duplicate",
    /// An import names a module that no file declares.
    ModuleUnknown = "module.unknown",
    /// No item declares the case's input record.
    InputMissing = "input.missing",
    /// The case's input record is declared twice.
    InputDuplicate = "input.duplicate",
    /// A name is used that is not defined.
    NameUnknown = "name.unknown",
    /// A rule id is referred to that no rule has.
    NameUnknownRule = "name.unknown_rule",
    /// A type name is used that no type has.
    NameUnknownType = "name.unknown_type",
    /// A record has no field of that name.
    NameUnknownField = "name.unknown_field",
    /// An enum has no variant of that name.
    NameUnknownVariant = "name.unknown_variant",
    /// A function is called that neither the policy nor the built-ins define.
    NameUnknownFunction = "name.unknown_function",
    /// A name is defined twice in the same scope.
    NameDuplicate = "name.duplicate",
    /// A name of another module is used without importing it.
    NameNotImported = "name.not_imported",
    /// An expression has another type than its place requires.
    TypeMismatch = "type.mismatch",
    /// An arithmetic operator is applied to values it does not take.
    TypeArithmetic = "type.arithmetic",
    /// Values of a type without an order are compared with `<`, `>`, `<=` or `>=`.
    TypeNotOrdered = "type.not_ordered",
    /// A value that may be absent is ordered (`<`, `>`, …) without saying what its absence means.
    TypeOptionalCompare = "type.optional_compare",
    /// The left side of `??` is a value that is never absent.
    TypeNotOptional = "type.not_optional",
    /// A type is made optional twice. The grammar takes one `?` after a type, so no policy text
    /// reaches it today; it guards the type resolver against a grammar that would.
    TypeNestedOptional = "type.nested_optional",
    /// A function or built-in is called with the wrong number of arguments.
    TypeArity = "type.arity",
    /// A function is called with arguments of types it does not take.
    TypeArguments = "type.arguments",
    /// A function is used as a value instead of being called.
    TypeFunctionValue = "type.function_value",
    /// A name that is not a value (a type, a table, a group, …) is used as one.
    TypeNotAValue = "type.not_a_value",
    /// A field is read from a value that has no fields.
    TypeNoFields = "type.no_fields",
    /// A match pattern cannot match the value's type.
    TypeBadPattern = "type.bad_pattern",
    /// A field constraint does not apply to the field's type (`min` on a text).
    TypeBadCheck = "type.bad_check",
    /// A match leaves some values without an arm.
    MatchNotExhaustive = "match.not_exhaustive",
    /// A match arm can never be reached: an earlier `_` takes every value.
    MatchUnreachable = "match.unreachable",
    /// A decimal is rounded without naming the rounding strategy.
    RoundingUnnamed = "rounding.unnamed",
    /// A rounding strategy is named that does not exist.
    RoundingUnknown = "rounding.unknown",
    /// The number of decimal places to round to is not a whole number from 0 to 20.
    RoundingPlaces = "rounding.places",
    /// Definitions depend on each other in a cycle.
    Cycle = "cycle",
    /// Bands are over values that are not numbers.
    BandsDomain = "bands.domain",
    /// Bands leave a gap: some values fall in no band.
    BandsGap = "bands.gap",
    /// Bands overlap: some values fall in two bands.
    BandsOverlap = "bands.overlap",
    /// A band holds no value (its lower bound is not below its upper bound).
    BandsEmpty = "bands.empty",
    /// Two exceptions may both apply and no order says which wins.
    ExceptionAmbiguous = "exception.ambiguous",
    /// Exceptions override each other in a cycle.
    ExceptionCycle = "exception.cycle",
    /// An exception overrides itself.
    ExceptionSelf = "exception.self",
    /// A parameter has no value.
    ParameterNoValue = "parameter.no_value",
    /// A parameter's values are not listed in the order of their dates.
    ParameterOrder = "parameter.order",
    /// A table row does not have the table's columns.
    TableShape = "table.shape",
    /// Two rows of a table have the same keys.
    TableDuplicateRow = "table.duplicate_row",
    /// A table cell is left blank in a column whose type cannot be absent.
    TableBlank = "table.blank",
    /// A calendar lists a weekend day as non-working: weekends are non-working already.
    CalendarWeekendHoliday = "calendar.weekend_holiday",
    /// A calendar lists a weekday as working: weekdays are working days already.
    CalendarWeekdayWorking = "calendar.weekday_working",
    /// A calendar lists a date under another year than its own.
    CalendarWrongYear = "calendar.wrong_year",
    /// A calendar lists the same year twice.
    CalendarDuplicateYear = "calendar.duplicate_year",
    /// A rule lacks its message in one of the languages (ru, kk, en): a warning.
    RuleMissingMessage = "rule.missing_message",
    /// A rule or check has two messages in the same language.
    RuleDuplicateMessage = "rule.duplicate_message",
    /// A check has no message in any language.
    CheckNoMessage = "check.no_message",
    /// A label, or a rule's text, is missing in one of the languages the policy's `languages`
    /// header names: a warning, since the explanation falls back to the identifier.
    LabelMissing = "label.missing",
    /// A definition is never used (a warning).
    Unused = "unused",
}

impl Code {
    /// Whether no policy text can cause the code (an internal error, or a guard the grammar
    /// keeps from being reached): the corpus needs no file for it.
    pub fn internal(self) -> bool {
        matches!(
            self,
            Code::SyntaxInternal | Code::ModuleHeader | Code::TypeNestedOptional
        )
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_text_and_a_meaning() {
        let mut texts: Vec<&str> = Code::ALL.iter().map(|code| code.as_str()).collect();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), Code::ALL.len(), "two codes share a text");
        for code in Code::ALL {
            assert!(
                code.meaning().ends_with('.'),
                "{code}: {:?}",
                code.meaning()
            );
            assert!(!code.meaning().starts_with(' '), "{code}");
        }
        assert_eq!(Code::NameUnknown.to_string(), "name.unknown");
        assert_eq!(
            Code::BandsGap.meaning(),
            "Bands leave a gap: some values fall in no band."
        );
    }
}
