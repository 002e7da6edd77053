//! Names and labels the API server's Kubernetes runtime and the operator both rely on: the API
//! server writes a chain's key Secret and finds its pods and client Service by them; the
//! operator reads that Secret and creates the rest under the same names.

/// Label naming the Chain an object belongs to (key Secret, workloads, pods).
pub const CHAIN_LABEL: &str = "consortia.dev/chain";
/// Label naming the member organisation of a node (workloads, pods).
pub const MEMBER_LABEL: &str = "consortia.dev/member";
/// The API server's id of a chain, on its Chain and key Secret: how the API server finds the
/// chain again.
pub const CHAIN_ID_LABEL: &str = "consortia.dev/chain-id";
/// Port of a chain's client Service (the nodes' REST API).
pub const CLIENT_PORT: u16 = 26657;

/// Name of a chain's key Secret: the operator uses the keys in it instead of generating them.
pub fn keys_secret_name(chain: &str) -> String {
    format!("{chain}-keys")
}

/// Name of a chain's client Service.
pub fn client_service_name(chain: &str) -> String {
    format!("{chain}-client")
}

/// Base URL of a chain's client Service inside the cluster.
pub fn client_endpoint(chain: &str, namespace: &str) -> String {
    format!(
        "http://{}.{namespace}.svc:{CLIENT_PORT}",
        client_service_name(chain)
    )
}
