//! A case error as a sentence in the caseworker's language: what is wrong, with the field named
//! by the policy's label, followed by the error's stable code and JSON path exactly as the error
//! line carries them (the contract's error object is not changed; only this text is translated).

use ereje_runtime::ir::{Policy, Type, TypeDef};
use ereje_runtime::CaseError;

use crate::explanation::Lang;

/// The words of the error sentences in one language.
struct Words {
    /// Opens every sentence.
    cannot_decide: &'static str,
    /// `{field}`: the field's label.
    missing_field: &'static str,
    /// `{field}`: the key the case gave.
    unknown_field: &'static str,
    /// `{field}`: the field's label.
    invalid_field: &'static str,
    /// `{field}`: the key given twice.
    duplicate_key: &'static str,
    /// Introduces the value the case gave.
    given_value: &'static str,
    invalid_json: &'static str,
    not_object: &'static str,
    too_large: &'static str,
    too_deep: &'static str,
    not_in_force: &'static str,
    empty_line: &'static str,
    /// An evaluation error; `{rule}`: the rule being evaluated.
    evaluation: &'static str,
    /// An error of a kind this text does not know.
    other: &'static str,
    /// Introduces the code and the path.
    code: &'static str,
}

const RU: Words = Words {
    cannot_decide: "Дело не может быть рассмотрено",
    missing_field: "не указано обязательное поле «{field}»",
    unknown_field: "поле «{field}» не предусмотрено формой дела",
    invalid_field: "недопустимое значение поля «{field}»",
    duplicate_key: "поле «{field}» указано дважды",
    given_value: "указано",
    invalid_json: "текст дела не является корректным JSON",
    not_object: "дело должно быть JSON-объектом",
    too_large: "дело слишком велико",
    too_deep: "в деле слишком глубокая вложенность",
    not_in_force: "на дату дела не действует ни одна версия правил",
    empty_line: "строка не содержит дела",
    evaluation: "расчёт по правилу {rule} не удался",
    other: "ошибка в данных дела",
    code: "код",
};

const KK: Words = Words {
    cannot_decide: "Іс қаралмайды",
    missing_field: "міндетті «{field}» өрісі толтырылмаған",
    unknown_field: "«{field}» өрісі іс нысанында көзделмеген",
    invalid_field: "«{field}» өрісінің мәні жарамсыз",
    duplicate_key: "«{field}» өрісі екі рет көрсетілген",
    given_value: "көрсетілгені",
    invalid_json: "іс мәтіні дұрыс JSON емес",
    not_object: "іс JSON-нысан болуы тиіс",
    too_large: "іс тым үлкен",
    too_deep: "істің кірістірілуі тым терең",
    not_in_force: "іс күніне ережелердің ешбір нұсқасы күшінде емес",
    empty_line: "жолда іс жоқ",
    evaluation: "{rule} ережесі бойынша есептеу сәтсіз аяқталды",
    other: "іс деректерінде қате бар",
    code: "коды",
};

const EN: Words = Words {
    cannot_decide: "The case cannot be decided",
    missing_field: "the required field “{field}” is missing",
    unknown_field: "the field “{field}” is not part of the case form",
    invalid_field: "the value of the field “{field}” is not valid",
    duplicate_key: "the field “{field}” is given twice",
    given_value: "given",
    invalid_json: "the case is not valid JSON",
    not_object: "the case must be a JSON object",
    too_large: "the case is too large",
    too_deep: "the case nests too deeply",
    not_in_force: "no version of the rules is in force on the case's date",
    empty_line: "the line holds no case",
    evaluation: "the computation of {rule} failed",
    other: "the case's data has an error",
    code: "code",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::Ru => &RU,
        Lang::Kk => &KK,
        Lang::En => &EN,
    }
}

/// The language code of the policy's messages and labels.
fn lang_code(lang: Lang) -> &'static str {
    match lang {
        Lang::Ru => "ru",
        Lang::Kk => "kk",
        Lang::En => "en",
    }
}

/// A case error as one line in `lang`, for a caseworker or an applicant's form: what is wrong,
/// the field named by the policy's label (`дата рождения`, not `birth_date`), the value the case
/// gave where the error quotes one, then the stable code and JSON path unchanged, e.g.
/// `Дело не может быть рассмотрено: недопустимое значение поля «дата рождения», указано
/// `2024-13-01` (код case.invalid_field, /members/2/birth_date).` A failed `check` of the policy
/// gives the check's own message in `lang`.
pub fn case_error_text(error: &CaseError, policy: &Policy, lang: Lang) -> String {
    let words = words(lang);
    let field = field_label(policy, &error.path, lang);
    let check_message = error.rule.as_deref().and_then(|rule| {
        policy
            .checks
            .iter()
            .find(|check| check.id == rule)
            .and_then(|check| check.messages.get(lang_code(lang)))
    });
    let what = match (error.code(), check_message) {
        (_, Some(message)) => {
            format!(
                "{} — {message}",
                words.invalid_field.replace("{field}", &field)
            )
        }
        ("case.missing_field", _) => words.missing_field.replace("{field}", &field),
        ("case.unknown_field", _) => words.unknown_field.replace("{field}", &field),
        ("case.duplicate_key", _) => words.duplicate_key.replace("{field}", &field),
        ("case.invalid_field", _) => {
            let mut text = words.invalid_field.replace("{field}", &field);
            if let Some(value) = quoted(&error.message) {
                text.push_str(&format!(", {} `{value}`", words.given_value));
            }
            text
        }
        ("case.invalid_json", _) => words.invalid_json.to_string(),
        ("case.not_object", _) => words.not_object.to_string(),
        ("case.too_large", _) => words.too_large.to_string(),
        ("case.too_deep", _) => words.too_deep.to_string(),
        ("case.not_in_force", _) => words.not_in_force.to_string(),
        ("case.empty_line", _) => words.empty_line.to_string(),
        (code, _) if code.starts_with("eval.") => {
            let rule = error.rule.as_deref().unwrap_or("?");
            words.evaluation.replace("{rule}", rule)
        }
        _ => words.other.to_string(),
    };
    let at = if error.path.is_empty() {
        String::new()
    } else {
        format!(", {}", error.path)
    };
    format!(
        "{}: {what} ({} {}{at}).",
        words.cannot_decide,
        words.code,
        error.code()
    )
}

/// The first part of `message` quoted in backticks: the value the case gave.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let length = message.get(start..)?.find('`')?;
    message.get(start..start + length)
}

/// The label of the field a JSON path points at, found by walking the path through the case's
/// types (`/members/2/birth_date` → `Member.birth_date` → its label); the path's last key when
/// the policy has no label for it (an unknown field has none).
fn field_label(policy: &Policy, path: &str, lang: Lang) -> String {
    let keys: Vec<String> = path
        .split('/')
        .skip(1)
        .map(|key| key.replace("~1", "/").replace("~0", "~"))
        .collect();
    let mut current = Type::Record(policy.input.record);
    // The label of the last record field on the path; an index into a list keeps the list's.
    let mut label = None;
    for key in &keys {
        current = match current {
            Type::Optional(inner) => *inner,
            other => other,
        };
        current = match current {
            Type::Record(id) => {
                label = None;
                let Some(TypeDef::Record(record)) = policy.types.get(id as usize) else {
                    break;
                };
                let Some(field) = record.fields.iter().find(|field| &field.name == key) else {
                    break;
                };
                label = policy.label(&format!("{}.{key}", record.name), lang_code(lang));
                field.ty.clone()
            }
            Type::List(element) => *element,
            _ => {
                label = None;
                break;
            }
        };
    }
    label.map_or_else(|| keys.last().cloned().unwrap_or_default(), str::to_string)
}
