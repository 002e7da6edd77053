//! Which chain software runs, and which consensus protocols each one offers: the one table the
//! `Chain` resource's validation rule, the API server and the marketplace all read.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which chain software runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Consortia's own permissioned BFT chain (`consortia-node`).
    Native,
    /// Hyperledger Fabric.
    Fabric,
    /// GoQuorum.
    Quorum,
}

impl Engine {
    /// Every engine, in the order users see them listed.
    pub const ALL: [Engine; 3] = [Engine::Native, Engine::Fabric, Engine::Quorum];

    /// The engine's name in the API and in `spec.engine`.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Native => "native",
            Engine::Fabric => "fabric",
            Engine::Quorum => "quorum",
        }
    }

    /// The engine named `s`, if there is one.
    pub fn parse(s: &str) -> Option<Engine> {
        Engine::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The consensus protocols the engine offers (the values of `spec.consensus`), its
    /// default first.
    pub fn consensus(self) -> &'static [&'static str] {
        match self {
            Engine::Native => &["bft"],
            Engine::Fabric => &["etcdraft", "bft"],
            Engine::Quorum => &["qbft", "raft"],
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The CEL rule of a `ChainSpec` that keeps `consensus` to what [`Engine::consensus`] allows.
pub fn consensus_rule() -> String {
    let quoted = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("'{n}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let clauses: Vec<String> = Engine::ALL
        .iter()
        .map(|e| match e.consensus() {
            [one] => format!("(self.engine == '{e}' && self.consensus == '{one}')"),
            many => format!(
                "(self.engine == '{e}' && self.consensus in [{}])",
                quoted(many)
            ),
        })
        .collect();
    format!("!has(self.consensus) || {}", clauses.join(" || "))
}

/// The message of [`consensus_rule`]: what each engine accepts.
pub fn consensus_message() -> String {
    let per_engine: Vec<String> = Engine::ALL
        .iter()
        .map(|e| match e.consensus() {
            [rest @ .., last] if !rest.is_empty() => format!("{e} {} or {last}", rest.join(", ")),
            names => format!("{e} {}", names.join(", ")),
        })
        .collect();
    format!("consensus must suit the engine: {}", per_engine.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;

    /// The consensus names the rule stored in the CRD accepts for `engine`, read from its text.
    fn accepted_by_crd(rule: &str, engine: Engine) -> Vec<String> {
        let head = format!("(self.engine == '{engine}' && self.consensus ");
        let clause = rule
            .split(" || ")
            .find(|c| c.starts_with(&head))
            .unwrap_or_else(|| panic!("no clause for {engine} in {rule}"));
        clause[head.len()..]
            .split('\'')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect()
    }

    #[test]
    fn the_crd_accepts_exactly_each_engines_consensus() {
        let crd = serde_json::to_value(crate::Chain::crd()).unwrap();
        let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        let rules = spec["x-kubernetes-validations"].as_array().unwrap();
        let stored = rules
            .iter()
            .find(|r| r["rule"].as_str().unwrap().contains("self.consensus"))
            .expect("the consensus rule is in the CRD");
        let rule = stored["rule"].as_str().unwrap();
        assert_eq!(rule, consensus_rule());
        assert_eq!(stored["message"], consensus_message());
        let every_name: Vec<&str> = Engine::ALL
            .iter()
            .flat_map(|e| e.consensus())
            .copied()
            .collect();
        for engine in Engine::ALL {
            let accepted = accepted_by_crd(rule, engine);
            for name in every_name.iter().chain(&["pbft"]) {
                assert_eq!(
                    accepted.iter().any(|a| a == name),
                    engine.consensus().contains(name),
                    "{engine} x {name}: {rule}"
                );
            }
        }
        // The field's pattern admits every name of the table and nothing else.
        let pattern = spec["properties"]["consensus"]["pattern"].as_str().unwrap();
        let mut listed: Vec<&str> = pattern
            .trim_start_matches("^(")
            .trim_end_matches(")$")
            .split('|')
            .collect();
        let mut names = every_name.clone();
        listed.sort_unstable();
        names.sort_unstable();
        names.dedup();
        assert_eq!(listed, names);
    }

    #[test]
    fn the_rule_reads_as_before() {
        assert_eq!(
            consensus_rule(),
            "!has(self.consensus) || (self.engine == 'native' && self.consensus == 'bft') || (self.engine == 'fabric' && self.consensus in ['etcdraft', 'bft']) || (self.engine == 'quorum' && self.consensus in ['qbft', 'raft'])"
        );
        assert_eq!(
            consensus_message(),
            "consensus must suit the engine: native bft; fabric etcdraft or bft; quorum qbft or raft"
        );
    }

    #[test]
    fn engines_parse_from_their_names_only() {
        for e in Engine::ALL {
            assert_eq!(Engine::parse(e.as_str()), Some(e));
            assert_eq!(serde_json::to_value(e).unwrap(), e.as_str());
        }
        assert_eq!(Engine::parse("Native"), None);
        assert_eq!(Engine::parse("bitcoin"), None);
    }
}
