//! The delivery loop: leases due notifications from the store, sends them, and records
//! what happened.
//!
//! Each channel has its own task, so a channel that fails or hangs only ever delays
//! itself: its attempts are bounded by the send timeout, and its failed rows wait out
//! their backoff in the database while the other channels carry on. Within a channel at
//! most `concurrency` messages are in flight. All state is in the store, so a restart,
//! or a second process, carries on where the first stopped: a notification recorded as
//! sent is never sent again, and one whose outcome was lost (the process died
//! mid-send) comes back when its lease ends and is sent again, with the same
//! idempotency key.

use crate::send::Sender;
use crate::{Channel, NotifyError};
use earshot_domain::{
    idempotency_key, Alert, Notification, NotificationId, RetryPolicy, Timestamp,
};
use earshot_store::{Delivery, NotificationClaim, Store};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// How the loop runs.
#[derive(Debug, Clone)]
pub struct NotifierOptions {
    /// A stable name for this process, holding the leases it takes.
    pub worker: String,
    /// How often each channel looks for due notifications.
    pub tick: Duration,
    /// How long one send may take before it counts as failed.
    pub timeout: Duration,
    /// Messages in flight at once, per channel.
    pub concurrency: usize,
    /// Notifications claimed per channel per round; also the most alerts one digest
    /// carries (the rest go in the next).
    pub batch: u32,
    pub retry: RetryPolicy,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        Self {
            worker: "earshot-notify".into(),
            tick: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
            concurrency: 4,
            batch: 50,
            retry: RetryPolicy::DEFAULT,
        }
    }
}

/// Delivers the outbox to the configured channels.
#[derive(Clone)]
pub struct Notifier {
    store: Arc<dyn Store>,
    channels: Arc<[Channel]>,
    sender: Sender,
    options: Arc<NotifierOptions>,
}

impl Notifier {
    pub fn new(
        store: Arc<dyn Store>,
        channels: Vec<Channel>,
        options: NotifierOptions,
    ) -> Result<Self, NotifyError> {
        Ok(Self {
            store,
            channels: channels.into(),
            sender: Sender::new(options.timeout)?,
            options: Arc::new(options),
        })
    }

    /// How long a claim is leased: longer than a whole round of one channel can take
    /// (every claimed row sent, `concurrency` at a time, each up to the timeout), so a
    /// live worker never loses a row it is still sending.
    fn lease(&self) -> Duration {
        let o = &self.options;
        let waves = u32::try_from(o.batch as usize / o.concurrency.max(1) + 1).unwrap_or(u32::MAX);
        o.timeout.saturating_mul(waves.saturating_add(1)) + Duration::from_secs(30)
    }

    /// Runs every channel's loop until `shutdown` resolves; then lets the messages in
    /// flight finish and be recorded, and returns.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for index in 0..self.channels.len() {
            let this = self.clone();
            let mut stop = stop_rx.clone();
            tasks.spawn(async move {
                loop {
                    this.round(index).await;
                    tokio::select! {
                        _ = stop.wait_for(|s| *s) => break,
                        _ = tokio::time::sleep(this.options.tick) => {}
                    }
                }
            });
        }
        shutdown.await;
        let _ = stop_tx.send(true);
        while tasks.join_next().await.is_some() {}
    }

    /// One pass over every channel, all at once: claims what is due, sends it, and
    /// records the outcomes. Returns how many notifications were attempted.
    pub async fn deliver_due(&self) -> usize {
        let mut tasks = JoinSet::new();
        for index in 0..self.channels.len() {
            let this = self.clone();
            tasks.spawn(async move { this.round(index).await });
        }
        let mut total = 0;
        while let Some(done) = tasks.join_next().await {
            total += done.unwrap_or(0);
        }
        total
    }

    /// Claims channel `index`'s due notifications and delivers them; returns how many.
    /// A digest channel claims only once its window since the last sent message is
    /// over, and sends what it claimed as one message.
    async fn round(&self, index: usize) -> usize {
        let channel = &self.channels[index];
        match self.claim(channel).await {
            Ok(rows) if rows.is_empty() => 0,
            Ok(rows) => {
                let n = rows.len();
                let groups: Vec<Vec<Notification>> = if channel.digest.is_some() {
                    vec![rows]
                } else {
                    rows.into_iter().map(|r| vec![r]).collect()
                };
                let permits = Arc::new(Semaphore::new(self.options.concurrency.max(1)));
                let mut sends = JoinSet::new();
                for group in groups {
                    let (this, permits) = (self.clone(), permits.clone());
                    sends.spawn(async move {
                        let _permit = permits.acquire_owned().await;
                        this.deliver(index, &group).await;
                    });
                }
                while sends.join_next().await.is_some() {}
                n
            }
            Err(e) => {
                tracing::warn!(channel = %channel.name, error = %e, "could not claim notifications");
                0
            }
        }
    }

    async fn claim(&self, channel: &Channel) -> Result<Vec<Notification>, NotifyError> {
        let now = Timestamp::now();
        if let Some(window) = channel.digest {
            if let Some(last) = self.store.last_sent(&channel.name).await? {
                if now < last.plus(window) {
                    return Ok(Vec::new());
                }
            }
        }
        let claim = NotificationClaim {
            worker: &self.options.worker,
            channel: &channel.name,
            now,
            lease: self.lease(),
            limit: self.options.batch.max(1),
        };
        Ok(self.store.claim_notifications(&claim).await?)
    }

    /// Sends one message carrying `rows` on channel `index` and records the outcome.
    #[tracing::instrument(skip_all, fields(channel = %self.channels[index].name, notifications = rows.len()))]
    async fn deliver(&self, index: usize, rows: &[Notification]) {
        let channel = &self.channels[index];
        let ids: Vec<NotificationId> = rows.iter().map(|r| r.id).collect();
        let attempt = rows.iter().map(|r| r.attempts).max().unwrap_or(0) + 1;
        let outcome = match self.alerts(rows).await {
            Ok(alerts) => {
                let key = idempotency_key(&ids);
                match self.sender.send(channel, &alerts, &key).await {
                    Ok(()) => Delivery::Sent,
                    Err(e) => Delivery::Failed {
                        error: e.to_string(),
                        retry_at: self.options.retry.retry_at(attempt, Timestamp::now()),
                    },
                }
            }
            // The alert is gone from the database: nothing to say, ever.
            Err(e @ NotifyError::MissingAlert(_)) => Delivery::Failed {
                error: e.to_string(),
                retry_at: None,
            },
            Err(e) => Delivery::Failed {
                error: e.to_string(),
                retry_at: self.options.retry.retry_at(attempt, Timestamp::now()),
            },
        };
        let counted = match &outcome {
            Delivery::Sent => earshot_telemetry::NotificationOutcome::Delivered,
            Delivery::Failed { retry_at: None, .. } => {
                earshot_telemetry::NotificationOutcome::GaveUp
            }
            Delivery::Failed { .. } => earshot_telemetry::NotificationOutcome::Failed,
        };
        for _ in rows {
            earshot_telemetry::notification(counted);
        }
        if let Delivery::Failed { error, retry_at } = &outcome {
            tracing::warn!(
                attempt,
                error,
                given_up = retry_at.is_none(),
                "notification not delivered"
            );
        }
        let worker = &self.options.worker;
        if let Err(e) = self
            .store
            .record_delivery(worker, &ids, &outcome, Timestamp::now())
            .await
        {
            // The lease runs out and the rows come back: sent at least once.
            tracing::error!(error = %e, "could not record a delivery");
        }
    }

    async fn alerts(&self, rows: &[Notification]) -> Result<Vec<Alert>, NotifyError> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            match self.store.alert(row.alert_id).await? {
                Some((alert, _history)) => out.push(alert),
                None => return Err(NotifyError::MissingAlert(row.alert_id.0)),
            }
        }
        Ok(out)
    }
}
