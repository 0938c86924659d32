//! A refused write hands over the item that refused it, read as the entity, for a
//! single write and for each failed action of a transaction; a transaction's request
//! token makes it apply once, whether the caller or the SDK sends it again.

mod common;

use onetable::{Entity, Table};
use std::sync::{Arc, Mutex};

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "ACCOUNT#${id}", sk = "ACCOUNT")]
struct Account {
    id: String,
    #[attr(unique)]
    email: String,
    balance: i64,
    #[attr(version)]
    version: u64,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "LEDGER#${id}", sk = "LEDGER")]
struct Ledger {
    id: String,
    total: i64,
}

async fn table() -> Table {
    common::table(|t| t.entity::<Account>().entity::<Ledger>()).await
}

fn account(id: &str, balance: i64) -> Account {
    Account { id: id.into(), email: format!("{id}@example.com"), balance, version: 0 }
}

#[tokio::test]
async fn a_refused_write_hands_over_the_stored_item_as_the_entity() {
    let table = table().await;
    let accounts = table.model::<Account>();
    let stored = accounts.create(account("a", 50)).await.unwrap();
    let stored = accounts.put(Account { balance: 60, ..stored }).await.unwrap();
    assert_eq!(stored.version, 2);

    // A put based on version 1: the item the other writer left comes back.
    let stale = Account { balance: 70, version: 1, ..stored.clone() };
    let err = accounts.put(stale).await.unwrap_err();
    assert!(err.is_version_conflict(), "{err}");
    assert_eq!(accounts.current(&err).unwrap(), Some(stored.clone()));

    // A failed condition of an update, and a create on a taken key.
    let err = accounts
        .update(Account::key("a"))
        .set(Account::BALANCE, 0)
        .condition(Account::BALANCE.gt(100))
        .await
        .unwrap_err();
    assert!(err.is_condition_failed(), "{err}");
    assert_eq!(accounts.current(&err).unwrap(), Some(stored.clone()));
    let err = accounts.create(account("a", 1)).await.unwrap_err();
    assert!(err.is_already_exists(), "{err}");
    assert_eq!(accounts.current(&err).unwrap(), Some(stored.clone()));

    // No item under the key: nothing to hand over.
    let err = accounts.update(Account::key("nobody")).set(Account::BALANCE, 1).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(accounts.current(&err).unwrap(), None);

    // A unique value taken by another account: the failed action is the sentinel's,
    // which is no account; its key names the value.
    let err = accounts.create(Account { id: "b".into(), ..account("a", 5) }).await.unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
    assert_eq!(accounts.current(&err).unwrap(), None);
    let [sentinel] = err.failed_actions() else { panic!("{:?}", err.failed_actions()) };
    assert_eq!(sentinel.entity, None);
    assert!(sentinel.key.contains("a@example.com"), "{}", sentinel.key);
    // Another entity's model finds no item of its own in the error.
    assert_eq!(table.model::<Ledger>().current(&err).unwrap(), None);
}

#[tokio::test]
async fn each_failed_action_of_a_transaction_comes_with_its_item() {
    let table = table().await;
    let (accounts, ledgers) = (table.model::<Account>(), table.model::<Ledger>());
    let stored = accounts.create(account("a", 50)).await.unwrap();
    let ledger = ledgers.create(Ledger { id: "l".into(), total: 7 }).await.unwrap();

    let err = table
        .transaction()
        .create(ledgers.create(Ledger { id: "fine".into(), total: 0 }))
        .update(
            accounts.update(Account::key("a")).add(Account::BALANCE, -80).condition(Account::BALANCE.ge(80)),
        )
        .update(ledgers.update(Ledger::key("l")).set(Ledger::TOTAL, 0).condition(Ledger::TOTAL.eq(0)))
        .await
        .unwrap_err();
    assert!(err.is_condition_failed(), "the first failed action names the error: {err}");
    let failed = err.failed_actions();
    assert_eq!(
        failed.iter().map(|a| (a.index, a.entity, a.key.as_str())).collect::<Vec<_>>(),
        [(1, Some("Account"), "pk=ACCOUNT#a, sk=ACCOUNT"), (2, Some("Ledger"), "pk=LEDGER#l, sk=LEDGER")],
    );
    assert_eq!(accounts.current_of(&failed[0]).unwrap(), Some(stored.clone()));
    assert_eq!(ledgers.current_of(&failed[1]).unwrap(), Some(ledger.clone()));
    assert_eq!(accounts.current_of(&failed[1]).unwrap(), None, "an action on another entity's item");
    assert_eq!(accounts.current(&err).unwrap(), Some(stored));
    assert_eq!(ledgers.current(&err).unwrap(), Some(ledger));
    assert_eq!(ledgers.get(Ledger::key("fine")).await.unwrap(), None, "nothing was written");
}

#[tokio::test]
async fn a_token_applies_a_transaction_once_and_refuses_other_writes_under_it() {
    let table = table().await;
    let ledgers = table.model::<Ledger>();
    ledgers.create(Ledger { id: "l".into(), total: 0 }).await.unwrap();
    // Tokens live ten minutes in the service: one of this run's own (36 characters
    // at most).
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let token = format!("deposit-{nanos:x}");
    let add = |amount: i64| {
        table.transaction().update(ledgers.update(Ledger::key("l")).add(Ledger::TOTAL, amount)).token(&token)
    };
    add(10).await.unwrap();
    add(10).await.unwrap();
    assert_eq!(ledgers.get(Ledger::key("l")).await.unwrap().unwrap().total, 10, "sent twice, applied once");

    let err = add(25).await.unwrap_err();
    assert!(err.is_idempotent_mismatch(), "{err}");
    assert!(err.to_string().contains("a new transaction needs a new token"), "{err}");
    assert_eq!(ledgers.get(Ledger::key("l")).await.unwrap().unwrap().total, 10);

    // Without a token, each transaction is a transaction of its own.
    let plain = || table.transaction().update(ledgers.update(Ledger::key("l")).add(Ledger::TOTAL, 1));
    plain().await.unwrap();
    plain().await.unwrap();
    assert_eq!(ledgers.get(Ledger::key("l")).await.unwrap().unwrap().total, 12);
}

/// Loses the response of the first `TransactWriteItems` (DynamoDB applied it; the
/// client sees a 500) and records the request token of every one sent.
#[derive(Debug, Clone, Default)]
struct LoseFirstTransaction {
    tokens: Arc<Mutex<Vec<String>>>,
}

impl aws_sdk_dynamodb::config::Intercept for LoseFirstTransaction {
    fn name(&self) -> &'static str {
        "lose the first transaction's response"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        common::Target::record(context, cfg);
        if !common::Target::is(cfg, "TransactWriteItems") {
            return Ok(());
        }
        let request = context.request();
        let body: serde_json::Value = serde_json::from_slice(request.body().bytes().unwrap_or_default())?;
        let token = body["ClientRequestToken"].as_str().unwrap_or_default().to_owned();
        self.tokens.lock().unwrap().push(token);
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextMut<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if common::Target::is(cfg, "TransactWriteItems") && self.tokens.lock().unwrap().len() == 1 {
            let response = context.response_mut();
            *response.status_mut() = 500.try_into().unwrap();
            *response.body_mut() = aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"lost"}"#,
            );
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_transaction_whose_response_is_lost_is_retried_under_its_token_and_applied_once() {
    let table = table().await;
    table.model::<Ledger>().create(Ledger { id: "l".into(), total: 0 }).await.unwrap();
    let lose = LoseFirstTransaction::default();
    let config = common::local().sdk_config().to_builder().interceptor(lose.clone()).build();
    let faulty = Table::builder(aws_sdk_dynamodb::Client::from_conf(config), table.name())
        .entity::<Account>()
        .entity::<Ledger>()
        .build()
        .unwrap();
    let ledgers = faulty.model::<Ledger>();
    // No token given: the SDK makes one for the call and sends it on every retry.
    faulty.transaction().update(ledgers.update(Ledger::key("l")).add(Ledger::TOTAL, 10)).await.unwrap();
    let tokens = lose.tokens.lock().unwrap().clone();
    assert_eq!(tokens.len(), 2, "the lost response was retried: {tokens:?}");
    assert!(!tokens[0].is_empty() && tokens[0] == tokens[1], "one token for both attempts: {tokens:?}");
    assert_eq!(ledgers.get(Ledger::key("l")).await.unwrap().unwrap().total, 10, "applied once");
}
