//! HTTP client of the node API, used by the CLI's client commands, `bench` and the API server.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::account::Account;
use crate::receipt::Receipt;
use crate::tx::SignedTx;

#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

/// An error answer of the node API.
#[derive(Debug, thiserror::Error)]
#[error("{status}: {code}: {message}")]
pub struct ApiFailure {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl Client {
    pub fn new(base: &str) -> Result<Client> {
        let base = base.trim_end_matches('/').to_string();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            bail!("node URL {base:?} must start with http:// or https://");
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .build()?;
        Ok(Client { base, http })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn decode<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T> {
        let status = resp.status();
        let body = resp.bytes().await?;
        Self::check_status(status, &body)?;
        serde_json::from_slice(&body).context("the node answered with unexpected JSON")
    }

    /// Turns an error answer into an [`ApiFailure`].
    fn check_status(status: reqwest::StatusCode, body: &[u8]) -> Result<()> {
        if !status.is_success() {
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let e = &v["error"];
            return Err(ApiFailure {
                status: status.as_u16(),
                code: e["code"].as_str().unwrap_or("error").to_string(),
                message: e["message"]
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()),
            }
            .into());
        }
        Ok(())
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let url = format!("{}{}", self.base, path);
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        Self::decode(resp).await
    }

    pub async fn submit(&self, tx: &SignedTx) -> Result<String> {
        let url = format!("{}/v1/txs", self.base);
        let resp = self
            .http
            .post(&url)
            .json(tx)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let v: Value = Self::decode(resp).await?;
        Ok(v["tx_hash"].as_str().unwrap_or_default().to_string())
    }

    /// Submits a batch; one result per transaction: the hash, or the refusal.
    pub async fn submit_batch(&self, txs: &[SignedTx]) -> Result<Vec<Result<String, String>>> {
        let url = format!("{}/v1/txs/batch", self.base);
        let resp = self
            .http
            .post(&url)
            .json(txs)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let v: Value = Self::decode(resp).await?;
        let items = v["results"]
            .as_array()
            .context("no results in the answer")?;
        Ok(items
            .iter()
            .map(|i| {
                if i["accepted"].as_bool() == Some(true) {
                    Ok(i["tx_hash"].as_str().unwrap_or_default().to_string())
                } else {
                    Err(i["error"]["code"]
                        .as_str()
                        .unwrap_or("rejected")
                        .to_string())
                }
            })
            .collect())
    }

    /// The raw JSON of `GET /v1/blocks?from=&limit=&wait_ms=` (a
    /// [`BlockPage`](crate::block::BlockPage)), read up to
    /// `max_body` bytes: the caller does not trust the node, so neither its size nor its
    /// content is taken for granted.
    pub async fn block_page_raw(
        &self,
        from: u64,
        limit: u32,
        wait_ms: u64,
        max_body: usize,
    ) -> Result<Vec<u8>> {
        let url = format!(
            "{}/v1/blocks?from={from}&limit={limit}&wait_ms={wait_ms}",
            self.base
        );
        let mut resp = self
            .http
            .get(&url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = resp.status();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.with_context(|| format!("GET {url}"))? {
            if body.len() + chunk.len() > max_body {
                bail!("GET {url}: the answer is larger than {max_body} bytes");
            }
            body.extend_from_slice(&chunk);
        }
        Self::check_status(status, &body)?;
        Ok(body)
    }

    pub async fn status(&self) -> Result<Value> {
        self.get("/v1/status").await
    }

    pub async fn tx(&self, hash: &str) -> Result<Value> {
        self.get(&format!("/v1/txs/{hash}")).await
    }

    pub async fn receipt(&self, hash: &str) -> Result<Receipt> {
        self.get(&format!("/v1/txs/{hash}/receipt")).await
    }

    pub async fn block(&self, height: Option<u64>) -> Result<Value> {
        match height {
            Some(h) => self.get(&format!("/v1/blocks/{h}")).await,
            None => self.get("/v1/blocks/latest").await,
        }
    }

    /// The hashes of block `height`'s transactions, waiting up to `wait_ms` for it.
    pub async fn block_tx_hashes(&self, height: u64, wait_ms: u64) -> Result<Value> {
        self.get(&format!("/v1/blocks/{height}/tx-hashes?wait_ms={wait_ms}"))
            .await
    }

    pub async fn account(&self, id: &str) -> Result<Account> {
        self.get(&format!("/v1/accounts/{id}")).await
    }

    pub async fn deposits(&self, content_hash: &str) -> Result<Value> {
        self.get(&format!("/v1/deposits/{content_hash}")).await
    }

    /// Waits until the transaction is committed (or `timeout` passes) and returns its receipt.
    pub async fn wait_receipt(&self, hash: &str, timeout: Duration) -> Result<Receipt> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.receipt(hash).await {
                Ok(r) => return Ok(r),
                Err(e) if tokio::time::Instant::now() < deadline => {
                    if let Some(f) = e.downcast_ref::<ApiFailure>()
                        && f.status != 404
                    {
                        return Err(e);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.context("the transaction was not committed in time")),
            }
        }
    }
}
