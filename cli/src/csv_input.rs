//! CSV input for `ereje batch`: one family per row, as an analyst fills a spreadsheet.
//!
//! The first row names the columns; the order of columns is free and every column is optional
//! except those the policy requires (`case_id`, `application_date`, and at least one member). An
//! empty cell means "not given". Each row becomes the case JSON of `case.schema.json` and then
//! goes through exactly the same reading and evaluation as a JSON line, so a wrong value is
//! reported with the same code and JSON path (`/members/1/birth_date`).
//!
//! The separator is `,` or `;` (the one the header row uses; spreadsheets in Russian locales
//! write `;`). A cell may be quoted with `"`, a quote inside it doubled (`""`). A row is one line:
//! cells cannot hold line breaks.
//!
//! | column | case JSON |
//! |---|---|
//! | `case_id`, `application_date`, `region` | the same fields |
//! | `housing_units`, `renting`, `vehicles`, `land_plots`, `livestock_heads` | `assets.*` |
//! | `contract_signed`, `contract_terminated_on` | `social_contract.signed`, `.terminated_on` |
//! | `pilot_enrolled`, `pilot_sms_sent_on` | `pilot.enrolled`, `pilot.sms_sent_on` |
//! | `deposits`, `mortgage_deposits` | `bank.deposits`: one deposit each (balance), the second with `mortgage: true` |
//! | `expenses_<YYYY-MM>` | `bank.expenses`: `{month, amount}` |
//! | `loan<k>_kind`, `loan<k>_issued_on`, `loan<k>_amount`, `loan<k>_overdue_days` | `bank.loans[k-1]` |
//! | `purchase<k>_kind`, `purchase<k>_date`, `purchase<k>_amount` | `purchases[k-1]` |
//! | `m<k>_id`, `m<k>_role`, `m<k>_birth_date`, `m<k>_sex`, `m<k>_disability_group`, `m<k>_child_with_disability`, `m<k>_full_time_student`, `m<k>_carer`, `m<k>_employment`, `m<k>_education`, `m<k>_chronic_illness`, `m<k>_registered_business` | `members[k-1].*` |
//! | `m<k>_consent`, `m<k>_consent_replied_on` | `members[k-1].consent.answer`, `.replied_on` |
//! | `m<k>_income_<kind>_<YYYY-MM>` | `members[k-1].incomes`: `{kind, month, amount}` |
//!
//! Member `k` exists when any of its cells is filled; its id defaults to `m<k>`. Members keep
//! the order of `k`, and members without cells are skipped (`m1`, `m3` give two members).
//! Booleans are `true`/`false`, `yes`/`no`, `да`/`нет` or `1`/`0`; counts and disability groups
//! are whole numbers; money is digits with an optional decimal point (`12345.67`), kept exact. A
//! cell that is none of these goes to the case reader as text and is reported there. An
//! unknown column is an error of the whole file (a misspelt header would otherwise lose data
//! silently); a row with more or fewer cells than the header gets the error line
//! `csv.invalid_row`.

use std::collections::BTreeMap;

use ereje_runtime::CaseError;
use serde_json::{Map, Value as Json};

/// The error code of a row that cannot be cut into the header's cells.
pub const INVALID_ROW: &str = "csv.invalid_row";

/// What one column feeds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    /// A top-level field (`case_id`, `application_date`, `region`).
    Case(&'static str, Kind),
    Asset(&'static str, Kind),
    Contract(&'static str, Kind),
    Pilot(&'static str, Kind),
    Deposit {
        mortgage: bool,
    },
    Expense {
        month: String,
    },
    Loan {
        number: u32,
        field: &'static str,
        kind: Kind,
    },
    Purchase {
        number: u32,
        field: &'static str,
        kind: Kind,
    },
    Member {
        number: u32,
        field: &'static str,
        kind: Kind,
    },
    Consent {
        number: u32,
        field: &'static str,
    },
    Income {
        number: u32,
        kind: String,
        month: String,
    },
}

/// How a cell's text becomes JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Bool,
    Integer,
    /// Money: a JSON string holding the exact decimal.
    Money,
}

const CASE_FIELDS: [(&str, Kind); 3] = [
    ("case_id", Kind::Text),
    ("application_date", Kind::Text),
    ("region", Kind::Text),
];
const ASSET_FIELDS: [(&str, Kind); 5] = [
    ("housing_units", Kind::Integer),
    ("renting", Kind::Bool),
    ("vehicles", Kind::Integer),
    ("land_plots", Kind::Integer),
    ("livestock_heads", Kind::Integer),
];
const MEMBER_FIELDS: [(&str, Kind); 12] = [
    ("id", Kind::Text),
    ("role", Kind::Text),
    ("birth_date", Kind::Text),
    ("sex", Kind::Text),
    ("disability_group", Kind::Integer),
    ("child_with_disability", Kind::Bool),
    ("full_time_student", Kind::Bool),
    ("carer", Kind::Bool),
    ("employment", Kind::Text),
    ("education", Kind::Text),
    ("chronic_illness", Kind::Bool),
    ("registered_business", Kind::Text),
];
const LOAN_FIELDS: [(&str, Kind); 4] = [
    ("kind", Kind::Text),
    ("issued_on", Kind::Text),
    ("amount", Kind::Money),
    ("overdue_days", Kind::Integer),
];
const PURCHASE_FIELDS: [(&str, Kind); 3] = [
    ("kind", Kind::Text),
    ("date", Kind::Text),
    ("amount", Kind::Money),
];

/// The columns of a CSV file, read from its header row.
#[derive(Debug, Clone)]
pub struct CsvLayout {
    separator: char,
    columns: Vec<Column>,
    case_id_column: Option<usize>,
}

/// Splits `prefix<k>_rest` into `k` and `rest`.
fn numbered<'a>(name: &'a str, prefix: &str) -> Option<(u32, &'a str)> {
    let rest = name.strip_prefix(prefix)?;
    let digits = rest.find('_')?;
    let number: u32 = rest[..digits].parse().ok()?;
    (number >= 1).then_some((number, &rest[digits + 1..]))
}

fn is_month(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 7
        && bytes[4] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(index, byte)| index == 4 || byte.is_ascii_digit())
}

fn column_of(name: &str) -> Option<Column> {
    let find = |fields: &[(&'static str, Kind)], wanted: &str| {
        fields.iter().find(|(field, _)| *field == wanted).copied()
    };
    if let Some((field, kind)) = find(&CASE_FIELDS, name) {
        return Some(Column::Case(field, kind));
    }
    if let Some((field, kind)) = find(&ASSET_FIELDS, name) {
        return Some(Column::Asset(field, kind));
    }
    match name {
        "contract_signed" => return Some(Column::Contract("signed", Kind::Bool)),
        "contract_terminated_on" => return Some(Column::Contract("terminated_on", Kind::Text)),
        "pilot_enrolled" => return Some(Column::Pilot("enrolled", Kind::Bool)),
        "pilot_sms_sent_on" => return Some(Column::Pilot("sms_sent_on", Kind::Text)),
        "deposits" => return Some(Column::Deposit { mortgage: false }),
        "mortgage_deposits" => return Some(Column::Deposit { mortgage: true }),
        _ => {}
    }
    if let Some(month) = name.strip_prefix("expenses_") {
        return is_month(month).then(|| Column::Expense {
            month: month.to_string(),
        });
    }
    if let Some((number, rest)) = numbered(name, "loan") {
        let (field, kind) = find(&LOAN_FIELDS, rest)?;
        return Some(Column::Loan {
            number,
            field,
            kind,
        });
    }
    if let Some((number, rest)) = numbered(name, "purchase") {
        let (field, kind) = find(&PURCHASE_FIELDS, rest)?;
        return Some(Column::Purchase {
            number,
            field,
            kind,
        });
    }
    let (number, rest) = numbered(name, "m")?;
    if let Some((field, kind)) = find(&MEMBER_FIELDS, rest) {
        return Some(Column::Member {
            number,
            field,
            kind,
        });
    }
    match rest {
        "consent" => {
            return Some(Column::Consent {
                number,
                field: "answer",
            })
        }
        "consent_replied_on" => {
            return Some(Column::Consent {
                number,
                field: "replied_on",
            })
        }
        _ => {}
    }
    let income = rest.strip_prefix("income_")?;
    let (kind, month) = income.rsplit_once('_')?;
    (is_month(month) && !kind.is_empty()).then(|| Column::Income {
        number,
        kind: kind.to_string(),
        month: month.to_string(),
    })
}

/// Cuts a row into cells: `separator`-separated, `"`-quoted cells with `""` for a quote.
fn split_row(line: &str, separator: char) -> Result<Vec<String>, String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut characters = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(character) = characters.next() {
        if quoted {
            if character == '"' {
                if characters.peek() == Some(&'"') {
                    characters.next();
                    cell.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cell.push(character);
            }
        } else if character == '"' && cell.trim().is_empty() && !was_quoted {
            cell.clear();
            quoted = true;
            was_quoted = true;
        } else if character == separator {
            cells.push(std::mem::take(&mut cell));
            was_quoted = false;
        } else if was_quoted {
            if !character.is_whitespace() {
                return Err(format!(
                    "cell {} has text after its closing quote",
                    cells.len() + 1
                ));
            }
        } else {
            cell.push(character);
        }
    }
    if quoted {
        return Err(format!("cell {} has no closing quote", cells.len() + 1));
    }
    cells.push(cell);
    Ok(cells)
}

fn cell_json(text: &str, kind: Kind) -> Json {
    match kind {
        Kind::Text | Kind::Money => Json::String(text.to_string()),
        Kind::Bool => match text.to_lowercase().as_str() {
            "true" | "yes" | "1" | "да" | "иә" => Json::Bool(true),
            "false" | "no" | "0" | "нет" | "жоқ" => Json::Bool(false),
            _ => Json::String(text.to_string()),
        },
        Kind::Integer => match text.parse::<i64>() {
            Ok(number) => Json::from(number),
            Err(_) => Json::String(text.to_string()),
        },
    }
}

impl CsvLayout {
    /// Reads the header row. Fails on an unknown or repeated column.
    pub fn from_header(header: &str) -> Result<CsvLayout, String> {
        let header = header
            .trim_start_matches('\u{feff}')
            .trim_end_matches(['\r', '\n']);
        let separator = if header.contains(';') && !header.contains(',') {
            ';'
        } else {
            ','
        };
        let names = split_row(header, separator)?;
        let mut columns = Vec::with_capacity(names.len());
        let mut seen = BTreeMap::new();
        for (position, name) in names.iter().enumerate() {
            let name = name.trim();
            let Some(column) = column_of(name) else {
                return Err(format!(
                    "column {} `{name}` is not a known column (see `ereje batch --help`)",
                    position + 1
                ));
            };
            if let Some(earlier) = seen.insert(name.to_string(), position) {
                return Err(format!(
                    "column `{name}` appears twice (columns {} and {})",
                    earlier + 1,
                    position + 1
                ));
            }
            columns.push(column);
        }
        let case_id_column = columns
            .iter()
            .position(|column| *column == Column::Case("case_id", Kind::Text));
        Ok(CsvLayout {
            separator,
            columns,
            case_id_column,
        })
    }

    /// Converts one row into the case JSON, appended to `out`. On failure, gives the case id
    /// when the row names one.
    pub fn row_to_json(
        &self,
        line: &str,
        out: &mut String,
    ) -> Result<(), (Option<String>, CaseError)> {
        let cells = split_row(line, self.separator)
            .map_err(|message| (None, CaseError::new(INVALID_ROW, "", message)))?;
        let case_id = self
            .case_id_column
            .and_then(|index| cells.get(index))
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty());
        if cells.len() != self.columns.len() {
            let message = format!(
                "the row has {} cells but the header has {} columns",
                cells.len(),
                self.columns.len()
            );
            return Err((case_id, CaseError::new(INVALID_ROW, "", message)));
        }
        let mut case = Map::new();
        let mut members: BTreeMap<u32, Map<String, Json>> = BTreeMap::new();
        let mut loans: BTreeMap<u32, Map<String, Json>> = BTreeMap::new();
        let mut purchases: BTreeMap<u32, Map<String, Json>> = BTreeMap::new();
        let mut consents: BTreeMap<u32, Map<String, Json>> = BTreeMap::new();
        let mut assets = Map::new();
        let mut contract = Map::new();
        let mut pilot = Map::new();
        let mut deposits = Vec::new();
        let mut expenses = Vec::new();
        for (column, cell) in self.columns.iter().zip(&cells) {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            match column {
                Column::Case(field, kind) => {
                    case.insert((*field).to_string(), cell_json(cell, *kind));
                }
                Column::Asset(field, kind) => {
                    assets.insert((*field).to_string(), cell_json(cell, *kind));
                }
                Column::Contract(field, kind) => {
                    contract.insert((*field).to_string(), cell_json(cell, *kind));
                }
                Column::Pilot(field, kind) => {
                    pilot.insert((*field).to_string(), cell_json(cell, *kind));
                }
                Column::Deposit { mortgage } => {
                    let mut deposit = Map::new();
                    deposit.insert("balance".into(), cell_json(cell, Kind::Money));
                    if *mortgage {
                        deposit.insert("mortgage".into(), Json::Bool(true));
                    }
                    deposits.push(Json::Object(deposit));
                }
                Column::Expense { month } => {
                    let mut expense = Map::new();
                    expense.insert("month".into(), Json::String(month.clone()));
                    expense.insert("amount".into(), cell_json(cell, Kind::Money));
                    expenses.push(Json::Object(expense));
                }
                Column::Loan {
                    number,
                    field,
                    kind,
                } => {
                    loans
                        .entry(*number)
                        .or_default()
                        .insert((*field).to_string(), cell_json(cell, *kind));
                }
                Column::Purchase {
                    number,
                    field,
                    kind,
                } => {
                    purchases
                        .entry(*number)
                        .or_default()
                        .insert((*field).to_string(), cell_json(cell, *kind));
                }
                Column::Member {
                    number,
                    field,
                    kind,
                } => {
                    members
                        .entry(*number)
                        .or_default()
                        .insert((*field).to_string(), cell_json(cell, *kind));
                }
                Column::Consent { number, field } => {
                    members.entry(*number).or_default();
                    consents
                        .entry(*number)
                        .or_default()
                        .insert((*field).to_string(), Json::String(cell.to_string()));
                }
                Column::Income {
                    number,
                    kind,
                    month,
                } => {
                    let member = members.entry(*number).or_default();
                    let incomes = member
                        .entry("incomes".to_string())
                        .or_insert_with(|| Json::Array(Vec::new()));
                    if let Json::Array(incomes) = incomes {
                        let mut income = Map::new();
                        income.insert("kind".into(), Json::String(kind.clone()));
                        income.insert("month".into(), Json::String(month.clone()));
                        income.insert("amount".into(), cell_json(cell, Kind::Money));
                        incomes.push(Json::Object(income));
                    }
                }
            }
        }
        let members: Vec<Json> = members
            .into_iter()
            .map(|(number, mut member)| {
                member
                    .entry("id".to_string())
                    .or_insert_with(|| Json::String(format!("m{number}")));
                if let Some(consent) = consents.remove(&number) {
                    member.insert("consent".into(), Json::Object(consent));
                }
                Json::Object(member)
            })
            .collect();
        if !members.is_empty() {
            case.insert("members".into(), Json::Array(members));
        }
        for (key, object) in [
            ("assets", assets),
            ("social_contract", contract),
            ("pilot", pilot),
        ] {
            if !object.is_empty() {
                case.insert(key.into(), Json::Object(object));
            }
        }
        if !deposits.is_empty() || !expenses.is_empty() || !loans.is_empty() {
            let mut bank = Map::new();
            if !deposits.is_empty() {
                bank.insert("deposits".into(), Json::Array(deposits));
            }
            if !expenses.is_empty() {
                bank.insert("expenses".into(), Json::Array(expenses));
            }
            if !loans.is_empty() {
                let loans = loans.into_values().map(Json::Object).collect();
                bank.insert("loans".into(), Json::Array(loans));
            }
            case.insert("bank".into(), Json::Object(bank));
        }
        if !purchases.is_empty() {
            let purchases = purchases.into_values().map(Json::Object).collect();
            case.insert("purchases".into(), Json::Array(purchases));
        }
        out.push_str(&Json::Object(case).to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn rows_are_cut_at_separators_outside_quotes() {
        let cases: [(&str, char, &[&str]); 5] = [
            ("a,b,c", ',', &["a", "b", "c"]),
            ("a;\"b;c\";d", ';', &["a", "b;c", "d"]),
            ("\"say \"\"hi\"\"\",x", ',', &["say \"hi\"", "x"]),
            (",,", ',', &["", "", ""]),
            ("  \"q\" ,z", ',', &["q", "z"]),
        ];
        for (line, separator, expected) in cases {
            assert_eq!(split_row(line, separator).unwrap(), expected, "{line}");
        }
        assert!(split_row("\"open", ',').is_err());
    }

    #[test]
    fn headers_name_known_columns_only() {
        let good = [
            "case_id,application_date,m1_birth_date,m1_income_salary_2025-01,loan2_amount",
            "case_id;expenses_2025-03;m12_consent_replied_on;purchase1_kind",
        ];
        for header in good {
            assert!(CsvLayout::from_header(header).is_ok(), "{header}");
        }
        let bad = [
            "case_id,birthdate",
            "case_id,m0_sex",
            "case_id,m1_income_salary_2025-1",
            "case_id,case_id",
            "loan1_colour",
        ];
        for header in bad {
            assert!(CsvLayout::from_header(header).is_err(), "{header}");
        }
    }

    #[test]
    fn a_row_becomes_the_case_json() {
        let layout = CsvLayout::from_header(
            "case_id,application_date,m1_birth_date,m1_sex,m1_carer,m1_income_salary_2025-01,m3_sex,vehicles,contract_signed",
        )
        .unwrap();
        let mut out = String::new();
        layout
            .row_to_json(
                "c1,2025-03-12,1990-01-01,female,yes,12345.67,male,2,no",
                &mut out,
            )
            .unwrap();
        let json: Json = serde_json::from_str(&out).unwrap();
        let expected = serde_json::json!({
            "case_id": "c1",
            "application_date": "2025-03-12",
            "members": [
                {"id": "m1", "birth_date": "1990-01-01", "sex": "female", "carer": true,
                 "incomes": [{"kind": "salary", "month": "2025-01", "amount": "12345.67"}]},
                {"id": "m3", "sex": "male"}
            ],
            "assets": {"vehicles": 2},
            "social_contract": {"signed": false}
        });
        assert_eq!(json, expected);
        let error = layout.row_to_json("c2,2025-03-12", &mut out).unwrap_err();
        assert_eq!(error.0.as_deref(), Some("c2"));
        assert_eq!(error.1.code(), INVALID_ROW);
    }
}
