//! The second half of a staged rollout (`apply --rollout`): after the plan set the failing
//! validators at `warn`, backfill each collection, recount, and tighten to the declared action
//! where nothing fails any more; report what still fails elsewhere.

use super::audit::AuditReport;
use crate::ops::Operation;
use crate::plan::{RolloutStep, Staged};
use crate::progress::Reporter;
use crate::spec::SchemaSpec;
use anyhow::Result;
use bson::Document;
use mongodb::Client;

/// The outcome of a rollout: per collection, and the audits of those still failing.
#[derive(Debug, Clone, Default)]
pub struct Rollout {
    pub steps: Vec<RolloutStep>,
    pub remaining: Vec<AuditReport>,
}

/// Backfill, recount and tighten each staged validator.
pub async fn finish(
    client: &Client,
    spec: &SchemaSpec,
    staged: &[Staged],
    step: &super::retry::StepOptions,
    watch: Option<(std::time::Duration, crate::canary::Threshold)>,
    reporter: &mut dyn Reporter,
) -> Result<Rollout> {
    let mut out = Rollout::default();
    for s in staged {
        let Some(c) = spec.collection(&s.db, &s.collection) else {
            continue;
        };
        let target = super::backfill::Target {
            db: s.db.clone(),
            collection: s.collection.clone(),
            defaults: crate::backfill::collection_defaults(c),
        };
        let opts = super::backfill::Options {
            retry_for: step.retry_for,
            ..Default::default()
        };
        let filled = super::backfill::run(client, &target, &opts, reporter).await?;
        let failing = super::audit::count_failing(
            &client.database(&s.db).collection::<Document>(&s.collection),
            &s.validator,
        )
        .await?;
        // No stored document fails: with a canary, live writes have the last word.
        let canary = match watch {
            Some((period, threshold)) if failing == 0 => Some(
                super::canary::watch(
                    client,
                    &s.db,
                    &s.collection,
                    &s.validator,
                    period,
                    threshold,
                    reporter,
                )
                .await?,
            ),
            _ => None,
        };
        let tightened = failing == 0 && canary.as_ref().is_none_or(|c| c.passed);
        if tightened {
            let op = Operation::SetValidator {
                db: s.db.clone(),
                collection: s.collection.clone(),
                validator: Some(s.validator.clone()),
                level: s.level,
                action: s.action,
            };
            super::step::execute(client, &op, step, reporter).await?;
        } else if failing > 0 {
            out.remaining
                .push(super::audit::audit(client, c, &s.validator, None).await?);
        }
        out.steps.push(RolloutStep {
            database: s.db.clone(),
            collection: s.collection.clone(),
            backfilled: filled.modified,
            tightened,
            action: s.action,
            canary,
        });
    }
    Ok(out)
}
