//! The steps of declared evolutions (see [`crate::evolve`]): the migrate phase's job after
//! the expand steps, the contract's guard before the strict validator.

use super::{Marker, Plan, Step};
use crate::evolve::{Phase, State};
use crate::model::Evolution;
use crate::ops::Operation;

/// After planning: the migrate phase's `evolve_field` step after the expand steps (the
/// collections, indexes and validators) of each evolution that needs it, and the contract's
/// `contract_field` guard before the strict validator. The phase of each state is then what
/// the plan does with it.
pub fn add_evolution_steps(plan: &mut Plan, states: &mut [State]) {
    for s in states.iter_mut() {
        let e = &s.evolution;
        let ours = |st: &Step| st.db == e.db && st.collection == e.collection;
        let validator_at = plan
            .steps
            .iter()
            .position(|st| ours(st) && matches!(st.op, Operation::SetValidator { .. }));
        match s.phase {
            Phase::Expand | Phase::Migrate => {
                let after = plan
                    .steps
                    .iter()
                    .rposition(|st| {
                        matches!(
                            st.op,
                            Operation::CreateCollection { .. }
                                | Operation::CreateIndex { .. }
                                | Operation::SetValidator { .. }
                                | Operation::ModifyCollection { .. }
                                | Operation::ModifyIndex { .. }
                        )
                    })
                    .map_or(0, |i| i + 1);
                plan.steps.insert(after, evolve_step(e, s.old_shape));
            }
            Phase::Contract => match validator_at {
                Some(at) => plan.steps.insert(at, contract_step(e)),
                None => s.phase = Phase::Done,
            },
            Phase::Wait | Phase::Done => {}
        }
    }
}

/// The migrate phase of `e` as an operation.
pub fn evolve_op(e: &Evolution) -> Operation {
    Operation::EvolveField {
        db: e.db.clone(),
        collection: e.collection.clone(),
        field: e.field.clone(),
        from: e.from.clone(),
        convert: e.convert.clone(),
        types: e.types.clone(),
        batch_size: None,
        max_docs_per_sec: None,
    }
}

fn bare_step(e: &Evolution, op: Operation, reverse: Vec<Operation>, reason: String) -> Step {
    Step {
        db: e.db.clone(),
        collection: e.collection.clone(),
        marker: Marker::Modify,
        op,
        reverse,
        destructive: false,
        reason,
        documents: None,
        skipped: None,
        check: None,
        safety: None,
        validator_change: None,
        retire: None,
    }
}

/// What undoes the migrate phase of `e`: a plain rename or move is undone by moving back; a
/// conversion is not (the old value is gone).
pub fn evolve_reverse(e: &Evolution) -> Vec<Operation> {
    match (&e.from, &e.convert) {
        (Some(from), None) => vec![Operation::EvolveField {
            db: e.db.clone(),
            collection: e.collection.clone(),
            field: from.clone(),
            from: Some(e.field.clone()),
            convert: None,
            types: Vec::new(),
            batch_size: None,
            max_docs_per_sec: None,
        }],
        _ => vec![Operation::Irreversible {
            reason: format!(
                "evolve_field {}.{} {}: the old values were converted; restore them from a backup",
                e.db, e.collection, e.field
            ),
        }],
    }
}

/// The contract's guard for `e`; `after`: the wait a migration file keeps (`contract_after`).
pub fn contract_op(e: &Evolution, after: Option<i64>) -> Operation {
    Operation::ContractField {
        db: e.db.clone(),
        collection: e.collection.clone(),
        field: e.field.clone(),
        from: e.from.clone(),
        types: e.types.clone(),
        after,
    }
}

fn evolve_step(e: &Evolution, old_shape: u64) -> Step {
    let reverse = evolve_reverse(e);
    let reason = format!(
        "migrate phase of `{}`: {} in the old shape{}",
        e.field,
        crate::progress::count(old_shape, "document"),
        if old_shape == 0 {
            " (checked again, and the phase recorded as finished)"
        } else {
            ""
        }
    );
    bare_step(e, evolve_op(e), reverse, reason)
}

fn contract_step(e: &Evolution) -> Step {
    bare_step(
        e,
        contract_op(e, None),
        Vec::new(),
        format!(
            "contract phase of `{}`: no document in the old shape, the waiting period is over; the strict validator follows",
            e.field
        ),
    )
}
