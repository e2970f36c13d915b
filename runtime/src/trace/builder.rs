//! The trace builder: makes the nodes of a traced evaluation, with its working buffers.

use super::*;

/// The trace builder's working buffers, kept in the evaluator's `Scratch` from one case to the
/// next, so that a batch allocates them once per thread rather than once per case. They also
/// remember the sizes of the latest traces (falling slowly after a large one): the next
/// trace's buffers start half as large again, and cases of one policy have traces of similar
/// sizes, so those buffers are seldom moved as they grow.
#[derive(Debug, Default)]
pub(crate) struct TraceScratch {
    pending: Vec<usize>,
    displaced: Vec<u64>,
    frames: Vec<(usize, u64)>,
    marks: Vec<u64>,
    item_nodes: Vec<Option<usize>>,
    param_nodes: Vec<Option<usize>>,
    input_records: WordMap<usize, InputRecord>,
    input_slots: Vec<usize>,
    record_types: WordMap<Arc<str>, Option<u32>>,
    fresh: Vec<bool>,
    copied_inputs: Vec<usize>,
    /// The node, edge, argument and path buffer lengths of the latest trace.
    sizes: [usize; 4],
}

/// Collects trace nodes during an evaluation. Each item evaluation opens a frame that collects
/// the nodes it uses; closing the frame makes the item's node.
#[derive(Debug)]
pub(crate) struct TraceBuilder {
    nodes: Vec<TraceNode>,
    edges: Vec<usize>,
    arguments: Vec<(Value, Option<&'static Type>)>,
    paths: String,
    pub(crate) roots: Vec<usize>,
    /// The inputs collected by every open frame, the innermost frame's last: one buffer for all
    /// frames, so that opening a frame costs a push, and closing one copies its inputs to the
    /// trace's edges.
    pending: Vec<usize>,
    /// For each entry of `pending`: the mark of its node before the entry set it.
    displaced: Vec<u64>,
    /// Each open frame, the innermost last: where its inputs start in `pending`, and its
    /// serial number, unique within the evaluation (the first is 1).
    frames: Vec<(usize, u64)>,
    /// For each node: the serial of the innermost open frame that holds it as an input (0 or a
    /// closed frame's serial when no open frame does). A node is an input of the innermost
    /// frame exactly when its mark is that frame's serial, so that a frame records each node
    /// once without searching its inputs: a frame that takes a node sets its mark and
    /// remembers the mark it displaced, and closing the frame puts the displaced marks back,
    /// last first.
    marks: Vec<u64>,
    /// The serial of the latest frame opened.
    serial: u64,
    /// The node of each memoized item, once evaluated.
    pub(crate) item_nodes: Vec<Option<usize>>,
    /// The node of each parameter's lookup on the as-of date.
    pub(crate) param_nodes: Vec<Option<usize>>,
    /// Each case record read from, by its address: where its fields' slots start in
    /// `input_slots`, and its record type. A record of the case is one shared allocation for
    /// the whole evaluation, with one JSON pointer, so the address stands for the pointer
    /// without building it again at every read, and each record's path is resolved once.
    input_records: WordMap<usize, InputRecord>,
    /// The input node of each field of the records of `input_records`, [`NO_NODE`] before its
    /// first read: a record's fields take consecutive slots, so a field's node is found by
    /// indexing once its record is known.
    input_slots: Vec<usize>,
    /// Records read recently, with their addresses (0 for none yet), each in the slot its
    /// address picks: policies read fields of a few records in turn (a member's, then the
    /// case's application date), and this spares most reads the map.
    recent_records: [(usize, InputRecord); RECENT_RECORDS],
    /// The record type of each record path met, kept from one case to the next (cases of one
    /// policy have the same paths: `/members/0`, `/bank`): resolving a path walks the input
    /// type, which a map lookup spares. Emptied when it grows past [`KEPT_PATHS`].
    record_types: WordMap<Arc<str>, Option<u32>>,
    /// The buffer sizes the scratch remembered (see [`TraceScratch`]).
    prior_sizes: [usize; 4],
    /// For each node: whether every evaluation of its expression makes a new one (a call, a
    /// band or table lookup, a parameter looked up on another date than the as-of date), as
    /// opposed to a node made once and referenced again (an item, an input, a parameter on
    /// the as-of date). See [`TraceBuilder::repeat_call`].
    fresh: Vec<bool>,
    /// A call's inputs while [`TraceBuilder::repeat_call`] copies it.
    copied_inputs: Vec<usize>,
}

/// How many recent records [`TraceBuilder::input`] remembers: a power of two.
const RECENT_RECORDS: usize = 64;

/// The slot of [`TraceBuilder`]'s recent records that a record's address picks (records are
/// separate allocations, at least 16 bytes apart).
fn recent_slot(address: usize) -> usize {
    (address >> 4) & (RECENT_RECORDS - 1)
}

/// How many record paths [`TraceBuilder`] keeps the types of between cases.
const KEPT_PATHS: usize = 4096;

/// A case record the trace has read fields of.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct InputRecord {
    /// Where its fields' slots start in the builder's `input_slots`.
    slots: usize,
    /// Its record type (`None` where its path does not lead to a record type).
    record_type: Option<u32>,
}

/// The mark of an input slot whose field has no node yet.
const NO_NODE: usize = usize::MAX;

impl TraceBuilder {
    /// A builder for a policy of `items` items and `params` parameters, working in the buffers
    /// of `scratch`.
    pub(crate) fn new(items: usize, params: usize, scratch: TraceScratch) -> TraceBuilder {
        let TraceScratch {
            mut pending,
            mut displaced,
            mut frames,
            mut marks,
            mut item_nodes,
            mut param_nodes,
            mut input_records,
            mut input_slots,
            record_types,
            mut fresh,
            copied_inputs,
            sizes: [nodes, edges, arguments, paths],
        } = scratch;
        pending.clear();
        displaced.clear();
        frames.clear();
        marks.clear();
        let headroom = |size: usize| size.saturating_add(size / 2);
        item_nodes.clear();
        item_nodes.resize(items, None);
        param_nodes.clear();
        param_nodes.resize(params, None);
        input_records.clear();
        input_slots.clear();
        TraceBuilder {
            nodes: Vec::with_capacity(headroom(nodes)),
            edges: Vec::with_capacity(headroom(edges)),
            arguments: Vec::with_capacity(headroom(arguments)),
            paths: String::with_capacity(headroom(paths)),
            roots: Vec::new(),
            pending,
            displaced,
            frames,
            marks,
            serial: 0,
            item_nodes,
            param_nodes,
            input_records,
            input_slots,
            recent_records: [(0, InputRecord::default()); RECENT_RECORDS],
            record_types,
            prior_sizes: [nodes, edges, arguments, paths],
            fresh: {
                fresh.clear();
                fresh.reserve(headroom(nodes));
                fresh
            },
            copied_inputs,
        }
    }

    /// Opens a frame for a node whose inputs are about to be evaluated.
    #[inline]
    pub(crate) fn open(&mut self) {
        self.serial += 1;
        self.frames.push((self.pending.len(), self.serial));
    }

    /// Closes the innermost frame into `node`, records the node as an input of the enclosing
    /// frame, and returns its index.
    #[inline]
    pub(crate) fn close(&mut self, mut node: TraceNode) -> usize {
        let start = self
            .frames
            .pop()
            .map_or(self.pending.len(), |(start, _)| start)
            .min(self.pending.len());
        let inputs = self.pending.get(start..).unwrap_or(&[]);
        let displaced = self.displaced.get(start..).unwrap_or(&[]);
        for (input, mark) in inputs.iter().zip(displaced).rev() {
            if let Some(place) = self.marks.get_mut(*input) {
                *place = *mark;
            }
        }
        let first = self.edges.len();
        self.edges.extend_from_slice(inputs);
        self.pending.truncate(start);
        self.displaced.truncate(start);
        node.inputs = Span::of(first, self.edges.len());
        self.leaf(node)
    }

    /// Adds a node without inputs of its own to the enclosing frame.
    #[inline(always)]
    pub(crate) fn leaf(&mut self, node: TraceNode) -> usize {
        let index = self.nodes.len();
        self.nodes.push(node);
        self.marks.push(0);
        self.fresh.push(false);
        self.reference(index);
        index
    }

    /// Records an existing node as an input of the enclosing frame (once per frame).
    #[inline]
    pub(crate) fn reference(&mut self, index: usize) {
        let Some((_, serial)) = self.frames.last().copied() else {
            return;
        };
        let Some(mark) = self.marks.get_mut(index) else {
            return;
        };
        if *mark != serial {
            self.displaced.push(*mark);
            *mark = serial;
            self.pending.push(index);
        }
    }

    /// Keeps the arguments of a node about to be made, and returns where they are, for the
    /// node's `args`.
    pub(crate) fn add_args(
        &mut self,
        args: impl IntoIterator<Item = (Value, Option<&'static Type>)>,
    ) -> Span {
        let start = self.arguments.len();
        self.arguments.extend(args);
        Span::of(start, self.arguments.len())
    }

    /// Records the read of field `index` of the case record `record`, whose value is `value`:
    /// the field's input node is made at its first read and referenced at the next ones.
    pub(crate) fn input(
        &mut self,
        policy: &Policy,
        names: &TraceNames,
        record: &Arc<Record>,
        index: u32,
        value: &Value,
    ) {
        let Some(record_path) = record.path.as_deref() else {
            return;
        };
        let address = Arc::as_ptr(record) as usize;
        let recent = self
            .recent_records
            .get(recent_slot(address))
            .filter(|(known, _)| *known == address)
            .map(|(_, found)| *found);
        let found = match recent {
            Some(found) => found,
            None => {
                let slots = &mut self.input_slots;
                let record_types = &mut self.record_types;
                let found = *self.input_records.entry(address).or_insert_with(|| {
                    let start = slots.len();
                    slots.resize(start + record.fields.len(), NO_NODE);
                    let record_type = match record_types.get(record_path) {
                        Some(known) => *known,
                        None => {
                            let resolved = record_type(policy, record_path);
                            if record_types.len() >= KEPT_PATHS {
                                record_types.clear();
                            }
                            if let Some(path) = &record.path {
                                record_types.insert(Arc::clone(path), resolved);
                            }
                            resolved
                        }
                    };
                    InputRecord {
                        slots: start,
                        record_type,
                    }
                });
                if let Some(place) = self.recent_records.get_mut(recent_slot(address)) {
                    *place = (address, found);
                }
                found
            }
        };
        let slot = found.slots.saturating_add(index as usize);
        if let Some(node) = self.input_slots.get(slot).copied() {
            if node != NO_NODE {
                self.reference(node);
                return;
            }
        }
        let record_type = found.record_type;
        let field = record_type
            .and_then(|id| names.records.get(id as usize))
            .and_then(|fields| fields.get(index as usize));
        let start = self.paths.len();
        self.paths.push_str(record_path);
        let (id, ty) = match field {
            Some(field) => {
                self.paths.push_str(&field.segment);
                (field.name, Some(field.ty))
            }
            None => {
                let number = index.to_string();
                self.paths.push('/');
                self.paths.push_str(&number);
                (TraceText::from(number), None)
            }
        };
        let mut node = TraceNode::new(TraceKind::Input, id, value.clone(), ty);
        node.path = Some(Span::of(start, self.paths.len()));
        let node = self.leaf(node);
        if let Some(place) = self.input_slots.get_mut(slot) {
            *place = node;
        }
    }

    /// The trace, and the working buffers to keep for the next case.
    pub(crate) fn finish(self) -> (Trace, TraceScratch) {
        // A size falls slowly, by an eighth a case: a small case after large ones keeps room
        // for the next large one, so that the buffers are seldom moved as they grow.
        let latest = [
            self.nodes.len(),
            self.edges.len(),
            self.arguments.len(),
            self.paths.len(),
        ];
        let mut sizes = latest;
        for (size, prior) in sizes.iter_mut().zip(self.prior_sizes) {
            *size = (*size).max(prior - prior / 8);
        }
        let trace = Trace {
            nodes: self.nodes,
            roots: self.roots,
            edges: self.edges,
            arguments: self.arguments,
            paths: self.paths,
        };
        let scratch = TraceScratch {
            pending: self.pending,
            displaced: self.displaced,
            frames: self.frames,
            marks: self.marks,
            item_nodes: self.item_nodes,
            param_nodes: self.param_nodes,
            input_records: self.input_records,
            input_slots: self.input_slots,
            record_types: self.record_types,
            fresh: self.fresh,
            copied_inputs: self.copied_inputs,
            sizes,
        };
        (trace, scratch)
    }
}

/// The record type of the case record at `record_path` (a JSON pointer into the case), found by
/// following the path through the policy's input type.
fn record_type(policy: &Policy, record_path: &str) -> Option<u32> {
    let mut ty = &Type::Record(policy.input.record);
    let mut rest = record_path;
    while !rest.is_empty() {
        let after_slash = rest.strip_prefix('/')?;
        let (segment, remaining) = match after_slash.find('/') {
            Some(position) => (&after_slash[..position], &after_slash[position..]),
            None => (after_slash, ""),
        };
        rest = remaining;
        ty = if segment.contains('~') {
            step(policy, ty, &segment.replace("~1", "/").replace("~0", "~"))?
        } else {
            step(policy, ty, segment)?
        };
    }
    match unwrap_optional(ty) {
        Type::Record(id) => Some(*id),
        _ => None,
    }
}

fn unwrap_optional(ty: &Type) -> &Type {
    match ty {
        Type::Optional(inner) => inner,
        other => other,
    }
}

/// The type one step below `ty` in a case: a record's field by name, a list's element by index,
/// a map's value by key.
fn step<'p>(policy: &'p Policy, ty: &'p Type, segment: &str) -> Option<&'p Type> {
    match unwrap_optional(ty) {
        Type::Record(id) => match policy.types.get(*id as usize)? {
            TypeDef::Record(record) => record
                .fields
                .iter()
                .find(|field| field.name == segment)
                .map(|field| &field.ty),
            TypeDef::Enum(_) => None,
        },
        Type::List(element) => {
            segment.parse::<usize>().ok()?;
            Some(element)
        }
        Type::Map(element) => Some(element),
        _ => None,
    }
}

/// The nodes an evaluation records, made the same way by both evaluators that trace (the
/// interpreter, `eval.rs`, and native code, `native.rs`), from the names prepared once per
/// engine.
impl TraceBuilder {
    /// Records a memoized item used again: its node, made at its evaluation, becomes an input
    /// of the enclosing frame.
    #[inline]
    pub(crate) fn reuse_item(&mut self, id: u32) {
        if let Some(node) = self.item_nodes.get(id as usize).copied().flatten() {
            self.reference(node);
        }
    }

    /// Closes the frame of item `id`, evaluated to `value` (by exception `exception`, where one
    /// gave the value), into the item's node.
    pub(crate) fn close_item(
        &mut self,
        policy: &Policy,
        names: &TraceNames,
        id: u32,
        value: Value,
        exception: Option<u32>,
    ) {
        let index = id as usize;
        let Some(item) = policy.items.get(index) else {
            return;
        };
        let names = names.items.get(index);
        let mut node = item_node(item, names, value);
        node.exception = exception.and_then(|won| exception_label(item, names, won));
        let node_index = self.close(node);
        if let Some(place) = self.item_nodes.get_mut(index) {
            *place = Some(node_index);
        }
    }

    /// Opens the frame of a call of function `id` whose arguments are `args`, and keeps the
    /// arguments for the call's node.
    pub(crate) fn open_call(
        &mut self,
        policy: &Policy,
        names: &TraceNames,
        id: u32,
        args: impl Iterator<Item = Value>,
    ) -> Span {
        self.open();
        let names = names.items.get(id as usize);
        let params = policy
            .items
            .get(id as usize)
            .map_or(&[][..], |item| item.params.as_slice());
        self.add_args(
            args.zip(params)
                .enumerate()
                .map(|(position, (value, (_, ty)))| {
                    let ty = names
                        .and_then(|names| names.params.get(position))
                        .map_or_else(|| crate::intern::ty(ty), |ty| *ty);
                    (value, Some(ty))
                }),
        )
    }

    /// Closes the frame of a call of function `id`, which gave `value`, into the call's node.
    pub(crate) fn close_call(
        &mut self,
        policy: &Policy,
        names: &TraceNames,
        id: u32,
        value: Value,
        args: Span,
    ) -> Option<usize> {
        let item = policy.items.get(id as usize)?;
        let mut node = item_node(item, names.items.get(id as usize), value);
        node.args = args;
        let index = self.close(node);
        self.mark_fresh(index);
        Some(index)
    }

    /// Records that node `index` is made anew by every evaluation of its expression.
    fn mark_fresh(&mut self, index: usize) {
        if let Some(flag) = self.fresh.get_mut(index) {
            *flag = true;
        }
    }

    /// Records a call made again with the same arguments as the call whose node is `call`, as
    /// if it were evaluated again: the interpreter's evaluation of it would make a new node of
    /// the same kind, name, value and arguments, with the same inputs, except that the nodes
    /// every evaluation makes anew (the calls, band and table lookups within it) are made anew
    /// too, in the order it made them. Native code calls this instead of evaluating a function
    /// of a record of the case a second time; the trace is the interpreter's, node for node.
    pub(crate) fn repeat_call(&mut self, call: usize) {
        let copy = self.copy_fresh(call);
        self.reference(copy);
    }

    /// A copy of node `original` (made anew by every evaluation) and of the nodes under it
    /// made anew, in the order an evaluation makes them: each before the node that uses it.
    fn copy_fresh(&mut self, original: usize) -> usize {
        let Some(mut node) = self.nodes.get(original).cloned() else {
            return original;
        };
        // A call keeps its arguments when it starts, before what it calls keeps theirs.
        if !node.args.is_empty() {
            let start = self.arguments.len();
            for position in node.args.range() {
                if let Some(argument) = self.arguments.get(position).cloned() {
                    self.arguments.push(argument);
                }
            }
            node.args = Span::of(start, self.arguments.len());
        }
        let base = self.copied_inputs.len();
        for position in node.inputs.range() {
            let Some(child) = self.edges.get(position).copied() else {
                continue;
            };
            let copied = if self.fresh.get(child).copied().unwrap_or(false) {
                self.copy_fresh(child)
            } else {
                child
            };
            self.copied_inputs.push(copied);
        }
        let first = self.edges.len();
        self.edges.extend(self.copied_inputs.drain(base..));
        // A call's node closes a frame: its inputs start where the edges end, even when it has
        // none. A band, table or parameter node is a leaf, whose inputs are the empty default.
        if node.kind == TraceKind::Function || !node.inputs.is_empty() {
            node.inputs = Span::of(first, self.edges.len());
        }
        let index = self.nodes.len();
        self.nodes.push(node);
        self.marks.push(0);
        self.fresh.push(true);
        index
    }

    /// Closes the frame of output `index`, which gave `value`, into its node: a root.
    pub(crate) fn close_output(
        &mut self,
        policy: &Policy,
        names: &TraceNames,
        index: usize,
        value: Value,
    ) {
        let (name, ty) = match names.outputs.get(index) {
            Some(names) => (names.name, names.ty),
            None => match policy.outputs.get(index) {
                Some(output) => (TraceText::new(&output.name), crate::intern::ty(&output.ty)),
                None => return,
            },
        };
        let node = TraceNode::new(TraceKind::Output, name, value, Some(ty));
        let index = self.close(node);
        self.roots.push(index);
    }

    /// Records the lookup of parameter `id`, which found value `index` of it (`found`): one
    /// node per parameter for lookups on the as-of date (`on_as_of`), one per lookup for the
    /// others.
    pub(crate) fn param_node(
        &mut self,
        policy: &Policy,
        names: &TraceNames,
        id: u32,
        on_as_of: bool,
        index: usize,
        found: &ParamValue,
    ) {
        let cached = if on_as_of {
            self.param_nodes.get(id as usize).copied().flatten()
        } else {
            None
        };
        if let Some(node) = cached {
            self.reference(node);
            return;
        }
        let Some(param) = policy.params.get(id as usize) else {
            return;
        };
        let names = names.params.get(id as usize);
        let (name, ty) = match names {
            Some(names) => (names.name, names.ty),
            None => (TraceText::new(&param.name), crate::intern::ty(&param.ty)),
        };
        let mut node = TraceNode::new(TraceKind::Parameter, name, found.value.clone(), Some(ty));
        node.effective_from = Some(found.from);
        // The prepared source of the value found is its own or else the parameter's.
        node.source = match names.and_then(|names| names.sources.get(index)) {
            Some(source) => *source,
            None => found
                .source
                .as_ref()
                .or(param.source.as_ref())
                .map(|source| TraceText::new(source)),
        };
        let node = self.leaf(node);
        if on_as_of {
            if let Some(place) = self.param_nodes.get_mut(id as usize) {
                *place = Some(node);
            }
        } else {
            self.mark_fresh(node);
        }
    }

    /// Records the lookup of `value` in band table `id`, which found the band at `position`.
    pub(crate) fn band_node(
        &mut self,
        policy: &Policy,
        names: &TraceNames,
        id: u32,
        value: Value,
        position: usize,
    ) {
        let Some(table) = policy.bands.get(id as usize) else {
            return;
        };
        let Some(band) = table.bands.get(position) else {
            return;
        };
        // The band's position finds its prepared label.
        let node = match names.bands.get(id as usize) {
            Some(names) => {
                let mut node = TraceNode::new(
                    TraceKind::Band,
                    names.name,
                    band.value.clone(),
                    Some(names.result),
                );
                node.args = self.add_args([(value, Some(names.domain))]);
                node.label = Some(
                    names
                        .labels
                        .get(position)
                        .map_or_else(|| TraceText::new(&band.label), Clone::clone),
                );
                node.source = names.source;
                node
            }
            None => {
                let mut node = TraceNode::new(
                    TraceKind::Band,
                    TraceText::new(&table.name),
                    band.value.clone(),
                    Some(crate::intern::ty(&table.result)),
                );
                node.args = self.add_args([(value, Some(crate::intern::ty(&table.domain)))]);
                node.label = Some(TraceText::new(&band.label));
                node.source = table.source.as_deref().map(TraceText::new);
                node
            }
        };
        let index = self.leaf(node);
        self.mark_fresh(index);
    }

    /// Records the lookup of `key` in table `id`, which gave `result` (a row when `found`).
    pub(crate) fn table_node(
        &mut self,
        policy: &Policy,
        names: &TraceNames,
        id: u32,
        key: Vec<Value>,
        result: Value,
        found: bool,
    ) {
        let Some(table) = policy.tables.get(id as usize) else {
            return;
        };
        let names = names.tables.get(id as usize);
        let (name, ty) = match names {
            Some(names) => (names.name, names.result),
            None => (
                TraceText::new(&table.name),
                crate::intern::ty(&Type::Optional(Box::new(Type::Record(table.row_type)))),
            ),
        };
        let mut node = TraceNode::new(TraceKind::Table, name, result, Some(ty));
        node.args = self.add_args(key.into_iter().enumerate().map(|(index, value)| {
            let ty = match names {
                Some(names) => names.keys.get(index).cloned(),
                None => table.key_types.get(index).map(crate::intern::ty),
            };
            (value, ty)
        }));
        node.found = Some(found);
        node.source = match names {
            Some(names) => names.source,
            None => table.source.as_deref().map(TraceText::new),
        };
        let index = self.leaf(node);
        self.mark_fresh(index);
    }
}

/// The node of an evaluated item, with the text and type prepared for it (`names`), or made
/// from the IR where nothing was prepared.
#[inline(always)]
fn item_node(item: &Item, names: Option<&ItemNames>, value: Value) -> TraceNode {
    let kind = TraceKind::of_item(item.kind);
    match names {
        Some(names) => {
            let mut node = TraceNode::new(kind, names.name, value, Some(names.ty));
            node.source = names.source;
            node
        }
        None => {
            let mut node = TraceNode::new(
                kind,
                TraceText::new(&item.name),
                value,
                Some(crate::intern::ty(&item.ty)),
            );
            node.source = item.source.as_deref().map(TraceText::new);
            node
        }
    }
}

/// The label of exception `won` of `item`, prepared or made from the IR.
fn exception_label(item: &Item, names: Option<&ItemNames>, won: u32) -> Option<TraceText> {
    if let Some(label) = names.and_then(|names| names.exceptions.get(won as usize)) {
        return Some(*label);
    }
    match &item.body {
        crate::ir::Body::Exceptions { exceptions, .. } => exceptions
            .get(won as usize)
            .map(|exception| TraceText::new(&exception.label)),
        crate::ir::Body::Expr(_) => None,
    }
}
