//! The DynamoDB operations the library sends, as one trait over the SDK's request
//! builders: what [`Table::send`](crate::Table) needs to know of each — its name,
//! whether it writes, its expressions (checked against DynamoDB's limits before
//! sending), how to ask for consumed capacity, and which of its errors are a refusal
//! the caller handles (a failed condition, a cancelled transaction).

use super::failure::{Reason, Refusal};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation as op;
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::future::Future;

/// A request builder of the SDK that the library sends.
pub(crate) trait Operation: Sized + Send {
    /// What a successful request returns.
    type Output: Outcome + Send;
    /// The operation's error.
    type Error: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static;
    /// DynamoDB's name of the operation (`GetItem`, ...).
    const NAME: &'static str;
    /// True for the operations a read-only table refuses.
    const WRITES: bool;

    /// Every expression of the request, with what it is (`ConditionExpression`, ...).
    fn expressions(&self) -> Vec<(&'static str, &str)>;

    /// Asks for the capacity the request consumes (a no-op where DynamoDB offers none).
    fn capacity(self, capacity: Option<ReturnConsumedCapacity>) -> Self;

    /// Sends it.
    fn send(self) -> impl Future<Output = Result<Self::Output, SdkError<Self::Error, HttpResponse>>> + Send;

    /// The refusal the error is, when it is one the caller handles.
    fn refusal(_error: &Self::Error) -> Option<Refusal> {
        None
    }
}

/// What a response tells about its cost and size.
pub(crate) trait Outcome {
    /// Whether the request reads (its capacity is read units).
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    const READS: bool;
    /// The capacity units consumed (when DynamoDB was asked for them).
    fn units(&self) -> f64;
    /// The items a read returned.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    fn items(&self) -> usize {
        0
    }
    /// A query's or scan's `Count`: the items that matched (also when only counted).
    fn count(&self) -> Option<i32> {
        None
    }
}

fn total(consumed: Option<&ConsumedCapacity>) -> f64 {
    consumed.and_then(ConsumedCapacity::capacity_units).unwrap_or_default()
}

fn sum<'c>(consumed: impl IntoIterator<Item = &'c ConsumedCapacity>) -> f64 {
    consumed.into_iter().map(|c| total(Some(c))).sum()
}

/// One expression of an input, if it has one.
fn some<'a>(kind: &'static str, text: Option<&'a String>) -> impl Iterator<Item = (&'static str, &'a str)> {
    text.map(|t| (kind, t.as_str())).into_iter()
}

macro_rules! operation {
    (
        $builder:ty, $output:ty, $($error:ident)::+, $name:literal, writes: $writes:literal,
        capacity: $capacity:tt, refusal: $refusal:tt,
        expressions: |$input:ident| $expressions:expr
    ) => {
        impl Operation for $builder {
            type Output = $output;
            type Error = $($error)::+;
            const NAME: &'static str = $name;
            const WRITES: bool = $writes;

            fn expressions(&self) -> Vec<(&'static str, &str)> {
                let $input = self.as_input();
                $expressions
            }

            fn capacity(self, capacity: Option<ReturnConsumedCapacity>) -> Self {
                operation!(@capacity $capacity, self, capacity)
            }

            fn send(self) -> impl Future<Output = Result<Self::Output, SdkError<Self::Error, HttpResponse>>> + Send {
                <$builder>::send(self)
            }

            operation!(@refusal $refusal, $($error)::+);
        }
    };
    (@capacity yes, $self:ident, $capacity:ident) => { $self.set_return_consumed_capacity($capacity) };
    (@capacity no, $self:ident, $capacity:ident) => {{
        let _ = $capacity;
        $self
    }};
    (@refusal cancel, $($error:ident)::+) => {
        fn refusal(error: &Self::Error) -> Option<Refusal> {
            match error {
                $($error)::+::TransactionCanceledException(cancel) => Some(Refusal::Cancelled(
                    cancel.cancellation_reasons().iter().map(Reason::of).collect(),
                )),
                _ => None,
            }
        }
    };
    (@refusal none, $($error:ident)::+) => {};
    (@refusal condition, $($error:ident)::+) => {
        fn refusal(error: &Self::Error) -> Option<Refusal> {
            match error {
                $($error)::+::ConditionalCheckFailedException(failed) => {
                    Some(Refusal::Condition(failed.item.clone()))
                }
                _ => None,
            }
        }
    };
}

operation!(
    op::get_item::builders::GetItemFluentBuilder, op::get_item::GetItemOutput, op::get_item::GetItemError,
    "GetItem", writes: false, capacity: yes, refusal: none,
    expressions: |i| some("ProjectionExpression", i.get_projection_expression().as_ref()).collect()
);
operation!(
    op::put_item::builders::PutItemFluentBuilder, op::put_item::PutItemOutput, op::put_item::PutItemError,
    "PutItem", writes: true, capacity: yes, refusal: condition,
    expressions: |i| some("ConditionExpression", i.get_condition_expression().as_ref()).collect()
);
operation!(
    op::update_item::builders::UpdateItemFluentBuilder, op::update_item::UpdateItemOutput,
    op::update_item::UpdateItemError, "UpdateItem", writes: true, capacity: yes, refusal: condition,
    expressions: |i| some("UpdateExpression", i.get_update_expression().as_ref())
        .chain(some("ConditionExpression", i.get_condition_expression().as_ref()))
        .collect()
);
operation!(
    op::delete_item::builders::DeleteItemFluentBuilder, op::delete_item::DeleteItemOutput,
    op::delete_item::DeleteItemError, "DeleteItem", writes: true, capacity: yes, refusal: condition,
    expressions: |i| some("ConditionExpression", i.get_condition_expression().as_ref()).collect()
);
operation!(
    op::query::builders::QueryFluentBuilder, op::query::QueryOutput, op::query::QueryError,
    "Query", writes: false, capacity: yes, refusal: none,
    expressions: |i| some("KeyConditionExpression", i.get_key_condition_expression().as_ref())
        .chain(some("FilterExpression", i.get_filter_expression().as_ref()))
        .chain(some("ProjectionExpression", i.get_projection_expression().as_ref()))
        .collect()
);
operation!(
    op::scan::builders::ScanFluentBuilder, op::scan::ScanOutput, op::scan::ScanError,
    "Scan", writes: false, capacity: yes, refusal: none,
    expressions: |i| some("FilterExpression", i.get_filter_expression().as_ref())
        .chain(some("ProjectionExpression", i.get_projection_expression().as_ref()))
        .collect()
);
operation!(
    op::batch_get_item::builders::BatchGetItemFluentBuilder, op::batch_get_item::BatchGetItemOutput,
    op::batch_get_item::BatchGetItemError, "BatchGetItem", writes: false, capacity: yes, refusal: none,
    expressions: |i| i
        .get_request_items()
        .iter()
        .flat_map(|m| m.values())
        .flat_map(|k| some("ProjectionExpression", k.projection_expression.as_ref()))
        .collect()
);
operation!(
    op::batch_write_item::builders::BatchWriteItemFluentBuilder, op::batch_write_item::BatchWriteItemOutput,
    op::batch_write_item::BatchWriteItemError, "BatchWriteItem", writes: true, capacity: yes, refusal: none,
    expressions: |_i| Vec::new()
);
operation!(
    op::transact_write_items::builders::TransactWriteItemsFluentBuilder,
    op::transact_write_items::TransactWriteItemsOutput, op::transact_write_items::TransactWriteItemsError,
    "TransactWriteItems", writes: true, capacity: yes, refusal: cancel,
    expressions: |i| i
        .get_transact_items()
        .iter()
        .flatten()
        .flat_map(|item| {
            let condition = item
                .put()
                .map(|p| p.condition_expression())
                .or(item.update().map(|u| u.condition_expression()))
                .or(item.delete().map(|d| d.condition_expression()))
                .or(item.condition_check().map(|c| Some(c.condition_expression())))
                .flatten();
            let update = item.update().map(|u| u.update_expression());
            condition
                .map(|c| ("ConditionExpression", c))
                .into_iter()
                .chain(update.map(|u| ("UpdateExpression", u)))
        })
        .collect()
);
operation!(
    op::describe_table::builders::DescribeTableFluentBuilder, op::describe_table::DescribeTableOutput,
    op::describe_table::DescribeTableError, "DescribeTable", writes: false, capacity: no, refusal: none,
    expressions: |_i| Vec::new()
);
operation!(
    op::create_table::builders::CreateTableFluentBuilder, op::create_table::CreateTableOutput,
    op::create_table::CreateTableError, "CreateTable", writes: true, capacity: no, refusal: none,
    expressions: |_i| Vec::new()
);
operation!(
    op::update_table::builders::UpdateTableFluentBuilder, op::update_table::UpdateTableOutput,
    op::update_table::UpdateTableError, "UpdateTable", writes: true, capacity: no, refusal: none,
    expressions: |_i| Vec::new()
);
operation!(
    op::delete_table::builders::DeleteTableFluentBuilder, op::delete_table::DeleteTableOutput,
    op::delete_table::DeleteTableError, "DeleteTable", writes: true, capacity: no, refusal: none,
    expressions: |_i| Vec::new()
);
operation!(
    op::update_time_to_live::builders::UpdateTimeToLiveFluentBuilder,
    op::update_time_to_live::UpdateTimeToLiveOutput, op::update_time_to_live::UpdateTimeToLiveError,
    "UpdateTimeToLive", writes: true, capacity: no, refusal: none,
    expressions: |_i| Vec::new()
);

impl Outcome for op::get_item::GetItemOutput {
    const READS: bool = true;
    fn units(&self) -> f64 {
        total(self.consumed_capacity())
    }
    fn items(&self) -> usize {
        usize::from(self.item.is_some())
    }
}
impl Outcome for op::query::QueryOutput {
    const READS: bool = true;
    fn units(&self) -> f64 {
        total(self.consumed_capacity())
    }
    fn count(&self) -> Option<i32> {
        Some(self.count)
    }
    fn items(&self) -> usize {
        // A count returns no items but `count`; a page whose items the library reads
        // itself comes out of the SDK with them emptied but its `Count`, which is
        // the number of items returned.
        self.items.as_ref().map_or(0, |_| usize::try_from(self.count).unwrap_or(0))
    }
}
impl Outcome for op::scan::ScanOutput {
    const READS: bool = true;
    fn units(&self) -> f64 {
        total(self.consumed_capacity())
    }
    fn count(&self) -> Option<i32> {
        Some(self.count)
    }
    fn items(&self) -> usize {
        // As a query's.
        self.items.as_ref().map_or(0, |_| usize::try_from(self.count).unwrap_or(0))
    }
}
impl Outcome for op::batch_get_item::BatchGetItemOutput {
    const READS: bool = true;
    fn units(&self) -> f64 {
        sum(self.consumed_capacity())
    }
    fn items(&self) -> usize {
        self.responses.as_ref().map_or(0, |r| r.values().map(Vec::len).sum())
    }
}
impl Outcome for op::batch_write_item::BatchWriteItemOutput {
    const READS: bool = false;
    fn units(&self) -> f64 {
        sum(self.consumed_capacity())
    }
}
impl Outcome for op::transact_write_items::TransactWriteItemsOutput {
    const READS: bool = false;
    fn units(&self) -> f64 {
        sum(self.consumed_capacity())
    }
}
impl Outcome for op::put_item::PutItemOutput {
    const READS: bool = false;
    fn units(&self) -> f64 {
        total(self.consumed_capacity())
    }
}
impl Outcome for op::update_item::UpdateItemOutput {
    const READS: bool = false;
    fn units(&self) -> f64 {
        total(self.consumed_capacity())
    }
}
impl Outcome for op::delete_item::DeleteItemOutput {
    const READS: bool = false;
    fn units(&self) -> f64 {
        total(self.consumed_capacity())
    }
}

/// Table management: no capacity to count.
macro_rules! no_outcome {
    ($($output:ty),*) => {$(
        impl Outcome for $output {
            const READS: bool = false;
            fn units(&self) -> f64 {
                0.0
            }
        }
    )*};
}
no_outcome!(
    op::describe_table::DescribeTableOutput,
    op::create_table::CreateTableOutput,
    op::update_table::UpdateTableOutput,
    op::delete_table::DeleteTableOutput,
    op::update_time_to_live::UpdateTimeToLiveOutput
);
