//! The names, sources, labels and types trace nodes share, prepared once per engine.

use super::*;

/// The names, sources, labels and types trace nodes share, prepared once per engine from the IR
/// (see `load.rs`), each vector indexed as the IR's vector of the same name.
#[derive(Debug, Default)]
pub(crate) struct TraceNames {
    pub(crate) items: Vec<ItemNames>,
    pub(crate) params: Vec<ParamNames>,
    pub(crate) tables: Vec<TableNames>,
    pub(crate) bands: Vec<BandNames>,
    pub(crate) outputs: Vec<OutputNames>,
    /// For each type of the IR: the fields of a record type, nothing for an enum type.
    pub(crate) records: Vec<Vec<FieldNames>>,
}

#[derive(Debug)]
pub(crate) struct ItemNames {
    pub(crate) name: TraceText,
    pub(crate) ty: &'static Type,
    pub(crate) source: Option<TraceText>,
    /// The label of each exception, in the item's order.
    pub(crate) exceptions: Vec<TraceText>,
    /// The type of each parameter of a function.
    pub(crate) params: Vec<&'static Type>,
}

#[derive(Debug)]
pub(crate) struct ParamNames {
    pub(crate) name: TraceText,
    pub(crate) ty: &'static Type,
    /// For each dated value: its own source, or else the parameter's.
    pub(crate) sources: Vec<Option<TraceText>>,
}

#[derive(Debug)]
pub(crate) struct TableNames {
    pub(crate) name: TraceText,
    pub(crate) source: Option<TraceText>,
    /// The type of a lookup's result: an optional row.
    pub(crate) result: &'static Type,
    pub(crate) keys: Vec<&'static Type>,
}

#[derive(Debug)]
pub(crate) struct BandNames {
    pub(crate) name: TraceText,
    pub(crate) source: Option<TraceText>,
    pub(crate) domain: &'static Type,
    pub(crate) result: &'static Type,
    /// The label of each band, in the table's order.
    pub(crate) labels: Vec<TraceText>,
}

#[derive(Debug)]
pub(crate) struct OutputNames {
    pub(crate) name: TraceText,
    pub(crate) ty: &'static Type,
}

#[derive(Debug)]
pub(crate) struct FieldNames {
    pub(crate) name: TraceText,
    pub(crate) ty: &'static Type,
    /// The field's JSON pointer segment, `/` and the escaped name, appended to its record's
    /// path to make an input node's path.
    pub(crate) segment: Box<str>,
}

fn shared(text: &str, head: Head) -> TraceText {
    TraceText::with_head(text, head)
}

fn shared_source(text: Option<&String>) -> Option<TraceText> {
    text.map(|text| shared(text, Head::Source))
}

impl TraceKind {
    /// The kind of the node of an item's evaluation.
    pub(crate) fn of_item(kind: crate::ir::ItemKind) -> TraceKind {
        match kind {
            crate::ir::ItemKind::Rule => TraceKind::Rule,
            crate::ir::ItemKind::Definition => TraceKind::Definition,
            crate::ir::ItemKind::Function => TraceKind::Function,
            crate::ir::ItemKind::DerivedParam => TraceKind::Parameter,
        }
    }
}

impl TraceNames {
    /// Prepares the shared text and types of `policy`, each text with the JSON head a trace
    /// writes for it.
    pub(crate) fn new(policy: &Policy) -> TraceNames {
        let items = policy
            .items
            .iter()
            .map(|item| ItemNames {
                name: shared(&item.name, Head::Name(TraceKind::of_item(item.kind))),
                ty: crate::intern::ty(&item.ty),
                source: shared_source(item.source.as_ref()),
                exceptions: match &item.body {
                    crate::ir::Body::Exceptions { exceptions, .. } => exceptions
                        .iter()
                        .map(|exception| shared(&exception.label, Head::Exception))
                        .collect(),
                    crate::ir::Body::Expr(_) => Vec::new(),
                },
                params: item
                    .params
                    .iter()
                    .map(|(_, ty)| crate::intern::ty(ty))
                    .collect(),
            })
            .collect();
        let params = policy
            .params
            .iter()
            .map(|param| ParamNames {
                name: shared(&param.name, Head::Name(TraceKind::Parameter)),
                ty: crate::intern::ty(&param.ty),
                sources: param
                    .values
                    .iter()
                    .map(|value| shared_source(value.source.as_ref().or(param.source.as_ref())))
                    .collect(),
            })
            .collect();
        let tables = policy
            .tables
            .iter()
            .map(|table| TableNames {
                name: shared(&table.name, Head::Name(TraceKind::Table)),
                source: shared_source(table.source.as_ref()),
                result: crate::intern::ty(&Type::Optional(Box::new(Type::Record(table.row_type)))),
                keys: table
                    .key_types
                    .iter()
                    .map(|ty| crate::intern::ty(ty))
                    .collect(),
            })
            .collect();
        let bands = policy
            .bands
            .iter()
            .map(|table| BandNames {
                name: shared(&table.name, Head::Name(TraceKind::Band)),
                source: shared_source(table.source.as_ref()),
                domain: crate::intern::ty(&table.domain),
                result: crate::intern::ty(&table.result),
                labels: table
                    .bands
                    .iter()
                    .map(|band| shared(&band.label, Head::Label))
                    .collect(),
            })
            .collect();
        let outputs = policy
            .outputs
            .iter()
            .map(|output| OutputNames {
                name: shared(&output.name, Head::Name(TraceKind::Output)),
                ty: crate::intern::ty(&output.ty),
            })
            .collect();
        let records = policy
            .types
            .iter()
            .map(|definition| match definition {
                TypeDef::Record(record) => record
                    .fields
                    .iter()
                    .map(|field| {
                        let mut segment = String::with_capacity(field.name.len() + 1);
                        crate::json_text::push_key(&mut segment, &field.name);
                        FieldNames {
                            name: shared(&field.name, Head::Name(TraceKind::Input)),
                            ty: crate::intern::ty(&field.ty),
                            segment: segment.into_boxed_str(),
                        }
                    })
                    .collect(),
                TypeDef::Enum(_) => Vec::new(),
            })
            .collect();
        TraceNames {
            items,
            params,
            tables,
            bands,
            outputs,
            records,
        }
    }
}
