//! Spec checks beyond the schema, and the Chain's status as a pure function of what was
//! observed. Status is deterministic: a condition's `lastTransitionTime` changes only when
//! its status does, so an unchanged chain yields an identical status and no write.

use consortia_crds::{Chain, ChainStatus, Engine, Phase};
use consortia_engines::native::{self, Layout};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::ResourceExt;

use crate::resources::{MAX_STATEFULSET_NAME, observer_set_name, stateful_set_name};

pub const READY: &str = "Ready";
pub const PROGRESSING: &str = "Progressing";
pub const DEGRADED: &str = "Degraded";
/// Whether the spec was accepted (with warnings) or refused, and why.
pub const SPEC_VALID: &str = "SpecValid";

/// A spec the operator will not provision, with a machine-readable reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub reason: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(reason: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            reason,
            message: message.into(),
        }
    }
}

/// The validators the spec asks for, and a warning when their count is not 3f+1.
pub fn spec_layout(chain: &Chain) -> Result<(Layout, Option<String>), Refusal> {
    let name = chain.name_any();
    if chain.spec.engine != Engine::Native {
        return Err(Refusal::new(
            "EngineNotSupported",
            format!(
                "engine {:?} is not provisioned by this operator yet; only native chains are",
                chain.spec.engine
            )
            .to_lowercase(),
        ));
    }
    for m in &chain.spec.members {
        if m.peers > 0 || m.orderers > 0 {
            return Err(Refusal::new(
                "RoleNotSupported",
                format!(
                    "member {}: peers and orderers are Fabric roles; a native member runs validators",
                    m.name
                ),
            ));
        }
        let sts = if m.observers > 0 {
            observer_set_name(&name, &m.name)
        } else {
            stateful_set_name(&name, &m.name)
        };
        if sts.len() > MAX_STATEFULSET_NAME {
            return Err(Refusal::new(
                "NameTooLong",
                format!(
                    "workload name {sts:?} is {} characters; chain and member names together must stay within {MAX_STATEFULSET_NAME}",
                    sts.len()
                ),
            ));
        }
    }
    let counts: Vec<(&str, u32)> = chain
        .spec
        .members
        .iter()
        .map(|m| (m.name.as_str(), m.validators))
        .collect();
    if counts.iter().all(|(_, n)| *n == 0) {
        return Err(Refusal::new(
            "NoValidators",
            "the chain has no validators: give at least one member `validators` (4 tolerate one fault)",
        ));
    }
    let layout = native::layout_for(&name, &counts)
        .map_err(|e| Refusal::new("InvalidLayout", e.to_string()))?;
    let warning = layout.warning();
    Ok((layout, warning))
}

/// What the controller decided about the spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Provisioned as asked (possibly with a warning).
    Accepted { warning: Option<String> },
    /// Nothing created or changed because of this problem.
    Refused(Refusal),
    /// The chain keeps running as its genesis defines, but this change was not applied.
    ChangeRefused(Refusal),
}

/// What the controller saw of the running chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    pub total_nodes: u32,
    pub ready_nodes: u32,
    /// Validators (not observers) that are not ready.
    pub validators_down: u32,
    /// Some StatefulSet has not yet rolled out its current revision.
    pub rolling: bool,
    /// Validators that may be down without stopping the chain.
    pub fault_tolerance: u32,
    pub block_height: Option<u64>,
    pub genesis_hash: Option<String>,
    pub endpoints: Vec<String>,
}

fn condition(
    chain: &Chain,
    type_: &str,
    status: bool,
    reason: &str,
    message: String,
    now: &Time,
) -> Condition {
    let status = if status { "True" } else { "False" };
    // Keep the transition time of an unchanged condition.
    let since = chain
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
        .filter(|c| c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    Condition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: reason.to_string(),
        message,
        observed_generation: chain.metadata.generation,
        last_transition_time: since,
    }
}

/// The status to write. `observed` is `None` when nothing was provisioned.
pub fn compute(
    chain: &Chain,
    verdict: &Verdict,
    observed: Option<&Observed>,
    now: &Time,
) -> ChainStatus {
    let previous = chain.status.clone().unwrap_or_default();
    let mut status = ChainStatus {
        observed_generation: chain.metadata.generation,
        // Keep the last known height and genesis when the nodes cannot be reached this time.
        block_height: previous.block_height,
        genesis_hash: previous.genesis_hash.clone(),
        ..ChainStatus::default()
    };
    let (spec_ok, spec_reason, spec_message) = match verdict {
        Verdict::Accepted { warning: None } => {
            (true, "Accepted", "the spec was accepted".to_string())
        }
        Verdict::Accepted { warning: Some(w) } => (true, "AcceptedWithWarnings", w.clone()),
        Verdict::Refused(r) | Verdict::ChangeRefused(r) => (false, r.reason, r.message.clone()),
    };
    let mut conditions = vec![condition(
        chain,
        SPEC_VALID,
        spec_ok,
        spec_reason,
        spec_message,
        now,
    )];
    let Some(o) = observed else {
        // Refused before anything was created.
        status.phase = Some(Phase::Failed);
        conditions.push(condition(
            chain,
            READY,
            false,
            spec_reason,
            "the chain cannot be provisioned as specified".to_string(),
            now,
        ));
        conditions.push(condition(
            chain,
            PROGRESSING,
            false,
            spec_reason,
            "nothing to do until the spec is fixed".to_string(),
            now,
        ));
        conditions.push(condition(
            chain,
            DEGRADED,
            false,
            spec_reason,
            "no nodes exist".to_string(),
            now,
        ));
        status.conditions = conditions;
        return status;
    };
    if o.block_height.is_some() {
        status.block_height = o.block_height;
    }
    if o.genesis_hash.is_some() {
        status.genesis_hash = o.genesis_hash.clone();
    }
    status.total_nodes = o.total_nodes;
    status.ready_nodes = o.ready_nodes;
    status.ready_display = Some(format!("{}/{}", o.ready_nodes, o.total_nodes));
    status.endpoints = o.endpoints.clone();
    let all_ready = o.total_nodes > 0 && o.ready_nodes == o.total_nodes;
    let down = o.total_nodes - o.ready_nodes.min(o.total_nodes);
    let quorum_lost = o.validators_down > o.fault_tolerance;
    let ever_ran = status.block_height.is_some_and(|h| h > 0);
    let ready_msg = format!("{}/{} nodes ready", o.ready_nodes, o.total_nodes);
    conditions.push(condition(
        chain,
        READY,
        all_ready,
        if all_ready {
            "AllNodesReady"
        } else {
            "NodesNotReady"
        },
        ready_msg.clone(),
        now,
    ));
    let progressing = o.rolling || (!all_ready && !ever_ran);
    conditions.push(condition(
        chain,
        PROGRESSING,
        progressing,
        if o.rolling {
            "RollingOut"
        } else if progressing {
            "Provisioning"
        } else {
            "Stable"
        },
        if progressing {
            format!("{ready_msg}; workloads are being created or changed")
        } else {
            "workloads match the spec".to_string()
        },
        now,
    ));
    let degraded = !all_ready && ever_ran;
    conditions.push(condition(
        chain,
        DEGRADED,
        degraded,
        if !degraded {
            "AsExpected"
        } else if quorum_lost {
            "QuorumLost"
        } else {
            "NodesUnavailable"
        },
        if !degraded {
            "no node is missing".to_string()
        } else if quorum_lost {
            format!(
                "{} validator(s) down, more than the {} tolerated: the chain cannot make blocks",
                o.validators_down, o.fault_tolerance
            )
        } else {
            format!(
                "{down} node(s) down ({} validator(s)); the chain tolerates {} validators down and keeps making blocks",
                o.validators_down, o.fault_tolerance
            )
        },
        now,
    ));
    status.phase = Some(if all_ready {
        Phase::Running
    } else if degraded {
        Phase::Degraded
    } else {
        Phase::Provisioning
    });
    status.conditions = conditions;
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use consortia_crds::{ChainSpec, MemberSpec};

    fn chain(members: &[(&str, u32)]) -> Chain {
        let mut c = Chain::new(
            "demo",
            ChainSpec {
                engine: Engine::Native,
                version: None,
                consensus: None,
                members: members
                    .iter()
                    .map(|(n, v)| MemberSpec {
                        name: n.to_string(),
                        msp_id: None,
                        validators: *v,
                        observers: 0,
                        peers: 0,
                        orderers: 0,
                    })
                    .collect(),
                storage: None,
                images: None,
                exposure: None,
                resources: None,
                retain_policy: Default::default(),
            },
        );
        c.metadata.namespace = Some("ns".into());
        c.metadata.generation = Some(3);
        c
    }

    fn time(s: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(s).unwrap())
    }

    #[test]
    fn spec_checks() {
        let (layout, warning) = spec_layout(&chain(&[("a", 2), ("b", 2)])).unwrap();
        assert_eq!(layout.nodes().len(), 4);
        assert_eq!(layout.nodes()[2].name, "demo-b-0");
        assert!(warning.is_none());
        let (_, warning) = spec_layout(&chain(&[("a", 2), ("b", 1)])).unwrap();
        assert!(warning.unwrap().contains("3 validators tolerate 0"));
        assert_eq!(
            spec_layout(&chain(&[("a", 0)])).unwrap_err().reason,
            "NoValidators"
        );
        let long = "m".repeat(48);
        assert_eq!(
            spec_layout(&chain(&[(&long, 1)])).unwrap_err().reason,
            "NameTooLong"
        );
        let mut fabric = chain(&[("a", 1)]);
        fabric.spec.engine = Engine::Fabric;
        assert_eq!(
            spec_layout(&fabric).unwrap_err().reason,
            "EngineNotSupported"
        );
        let mut peers = chain(&[("a", 1)]);
        peers.spec.members[0].peers = 1;
        assert_eq!(spec_layout(&peers).unwrap_err().reason, "RoleNotSupported");
    }

    #[test]
    fn status_is_stable_and_tracks_transitions() {
        let mut c = chain(&[("a", 4)]);
        let observed = Observed {
            total_nodes: 4,
            ready_nodes: 4,
            fault_tolerance: 1,
            block_height: Some(7),
            genesis_hash: Some("ab".into()),
            ..Observed::default()
        };
        let accepted = Verdict::Accepted { warning: None };
        let first = compute(&c, &accepted, Some(&observed), &time(100));
        assert_eq!(first.phase, Some(Phase::Running));
        assert_eq!(first.ready_display.as_deref(), Some("4/4"));
        assert_eq!(first.observed_generation, Some(3));
        c.status = Some(first.clone());
        // Same observation later: the very same status.
        assert_eq!(compute(&c, &accepted, Some(&observed), &time(200)), first);
        // One node down after the chain ran: Degraded, and only changed conditions move.
        let one_down = Observed {
            ready_nodes: 3,
            validators_down: 1,
            ..observed.clone()
        };
        let s = compute(&c, &accepted, Some(&one_down), &time(300));
        assert_eq!(s.phase, Some(Phase::Degraded));
        let get =
            |s: &ChainStatus, t: &str| s.conditions.iter().find(|c| c.type_ == t).unwrap().clone();
        assert_eq!(get(&s, DEGRADED).reason, "NodesUnavailable");
        assert_eq!(get(&s, DEGRADED).last_transition_time, time(300));
        assert_eq!(get(&s, SPEC_VALID).last_transition_time, time(100));
        let two_down = Observed {
            ready_nodes: 2,
            validators_down: 2,
            ..observed.clone()
        };
        assert_eq!(
            get(
                &compute(&c, &accepted, Some(&two_down), &time(300)),
                DEGRADED
            )
            .reason,
            "QuorumLost"
        );
        // Unreachable nodes keep the last known height.
        let blind = Observed {
            block_height: None,
            genesis_hash: None,
            ..observed
        };
        assert_eq!(
            compute(&c, &accepted, Some(&blind), &time(400)).block_height,
            Some(7)
        );
    }

    #[test]
    fn a_refused_spec_fails_with_its_reason() {
        let c = chain(&[("a", 0)]);
        let refusal = spec_layout(&c).unwrap_err();
        let s = compute(&c, &Verdict::Refused(refusal), None, &time(1));
        assert_eq!(s.phase, Some(Phase::Failed));
        let spec = s.conditions.iter().find(|c| c.type_ == SPEC_VALID).unwrap();
        assert_eq!(
            (spec.status.as_str(), spec.reason.as_str()),
            ("False", "NoValidators")
        );
        let ready = s.conditions.iter().find(|c| c.type_ == READY).unwrap();
        assert_eq!(ready.status, "False");
    }
}
