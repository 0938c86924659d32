//! A stream record, whatever delivered it: aws-sdk-dynamodbstreams (feature
//! `streams`), a Lambda event (feature `lambda`), or code of the application.

use onetable_core::{Error, ErrorKind, Item};

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `INSERT`: a new item.
    Insert,
    /// `MODIFY`: an item written over.
    Modify,
    /// `REMOVE`: an item removed.
    Remove,
}

impl Event {
    /// The event of DynamoDB's `eventName` (`INSERT`, `MODIFY`, `REMOVE`).
    pub fn from_name(name: &str) -> Result<Event, Error> {
        match name {
            "INSERT" => Ok(Event::Insert),
            "MODIFY" => Ok(Event::Modify),
            "REMOVE" => Ok(Event::Remove),
            other => Err(invalid(format!("unknown stream event name `{other}`"))),
        }
    }
}

/// One record of a table's stream: the event, the item's key and the images the
/// stream's view type carries. Made from aws-sdk-dynamodbstreams' `Record` (feature
/// `streams`) or aws_lambda_events' `EventRecord` (feature `lambda`) with `try_into`,
/// or by hand from any other source (Kinesis, a test).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    /// What happened.
    pub event: Event,
    /// The item's primary key.
    pub keys: Item,
    /// The item before the change (view types `OLD_IMAGE`, `NEW_AND_OLD_IMAGES`).
    pub old_image: Option<Item>,
    /// The item after the change (view types `NEW_IMAGE`, `NEW_AND_OLD_IMAGES`).
    pub new_image: Option<Item>,
    /// A removal by DynamoDB's TTL (the record's user identity is the service
    /// `dynamodb.amazonaws.com`).
    pub expired: bool,
}

fn invalid(message: String) -> Error {
    ErrorKind::Invalid { entity: "", message }.into()
}

/// The principal DynamoDB names on the records of items its TTL removed.
#[cfg(any(feature = "streams", feature = "lambda"))]
const TTL_PRINCIPAL: &str = "dynamodb.amazonaws.com";

#[cfg(feature = "streams")]
mod streams {
    use super::{invalid, Event, StreamRecord, TTL_PRINCIPAL};
    use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, OperationType, Record};
    use onetable_core::{AttributeValue, Error, Item};
    use std::collections::HashMap;

    /// A value as aws-sdk-dynamodbstreams holds it, as aws-sdk-dynamodb holds it.
    fn value(v: StreamValue) -> Result<AttributeValue, Error> {
        Ok(match v {
            StreamValue::S(s) => AttributeValue::S(s),
            StreamValue::N(n) => AttributeValue::N(n),
            StreamValue::B(b) => AttributeValue::B(b.into_inner().into()),
            StreamValue::Bool(b) => AttributeValue::Bool(b),
            StreamValue::Null(n) => AttributeValue::Null(n),
            StreamValue::Ss(s) => AttributeValue::Ss(s),
            StreamValue::Ns(n) => AttributeValue::Ns(n),
            StreamValue::Bs(b) => AttributeValue::Bs(b.into_iter().map(|b| b.into_inner().into()).collect()),
            StreamValue::L(l) => AttributeValue::L(l.into_iter().map(value).collect::<Result<_, _>>()?),
            StreamValue::M(m) => AttributeValue::M(item(m)?),
            other => {
                return Err(invalid(format!(
                    "a stream value of a type this version does not know: {other:?}"
                )))
            }
        })
    }

    fn item(m: HashMap<String, StreamValue>) -> Result<Item, Error> {
        m.into_iter().map(|(k, v)| Ok((k, value(v)?))).collect()
    }

    impl TryFrom<Record> for StreamRecord {
        type Error = Error;

        fn try_from(record: Record) -> Result<StreamRecord, Error> {
            let event = match record.event_name {
                Some(OperationType::Insert) => Event::Insert,
                Some(OperationType::Modify) => Event::Modify,
                Some(OperationType::Remove) => Event::Remove,
                other => return Err(invalid(format!("a stream record with event {other:?}"))),
            };
            let expired =
                record.user_identity.as_ref().is_some_and(|u| u.principal_id() == Some(TTL_PRINCIPAL));
            let Some(change) = record.dynamodb else {
                return Err(invalid("a stream record without its `dynamodb` part".to_owned()));
            };
            Ok(StreamRecord {
                event,
                keys: change.keys.map(item).transpose()?.unwrap_or_default(),
                old_image: change.old_image.map(item).transpose()?,
                new_image: change.new_image.map(item).transpose()?,
                expired,
            })
        }
    }
}

#[cfg(feature = "lambda")]
mod lambda {
    use super::{Event, StreamRecord, TTL_PRINCIPAL};
    use aws_lambda_events::event::dynamodb::EventRecord;
    use onetable_core::{AttributeValue, Error, Item};
    use serde_dynamo::AttributeValue as LambdaValue;

    /// A value as a Lambda event holds it (serde_dynamo), as aws-sdk-dynamodb holds it.
    fn value(v: LambdaValue) -> AttributeValue {
        match v {
            LambdaValue::S(s) => AttributeValue::S(s),
            LambdaValue::N(n) => AttributeValue::N(n),
            LambdaValue::B(b) => AttributeValue::B(b.into()),
            LambdaValue::Bool(b) => AttributeValue::Bool(b),
            LambdaValue::Null(n) => AttributeValue::Null(n),
            LambdaValue::Ss(s) => AttributeValue::Ss(s),
            LambdaValue::Ns(n) => AttributeValue::Ns(n),
            LambdaValue::Bs(b) => AttributeValue::Bs(b.into_iter().map(Into::into).collect()),
            LambdaValue::L(l) => AttributeValue::L(l.into_iter().map(value).collect()),
            LambdaValue::M(m) => AttributeValue::M(m.into_iter().map(|(k, v)| (k, value(v))).collect()),
        }
    }

    /// An image; a Lambda event has an empty one where the view type carries none.
    fn image(item: serde_dynamo::Item) -> Option<Item> {
        let map: std::collections::HashMap<String, LambdaValue> = item.into();
        (!map.is_empty()).then(|| map.into_iter().map(|(k, v)| (k, value(v))).collect())
    }

    impl TryFrom<EventRecord> for StreamRecord {
        type Error = Error;

        fn try_from(record: EventRecord) -> Result<StreamRecord, Error> {
            let event = Event::from_name(&record.event_name)?;
            let expired = record.user_identity.as_ref().is_some_and(|u| u.principal_id == TTL_PRINCIPAL);
            let change = record.change;
            Ok(StreamRecord {
                event,
                keys: image(change.keys).unwrap_or_default(),
                old_image: image(change.old_image),
                new_image: image(change.new_image),
                expired,
            })
        }
    }
}
