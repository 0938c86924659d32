//! Reads a table's stream from the start with aws-sdk-dynamodbstreams: every shard from
//! its oldest record, until `wanted` records came or the shards have nothing more.

use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use std::time::{Duration, Instant};

/// A DynamoDB Streams client for the DynamoDB Local at `endpoint` (the region and
/// local credentials its DynamoDB clients use).
pub fn local_client(endpoint: &str) -> aws_sdk_dynamodbstreams::Client {
    aws_sdk_dynamodbstreams::Client::from_conf(
        aws_sdk_dynamodbstreams::Config::builder()
            .behavior_version(aws_sdk_dynamodbstreams::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodbstreams::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodbstreams::config::Credentials::new(
                "local", "local", None, None, "onetable",
            ))
            .endpoint_url(endpoint)
            .build(),
    )
}

pub async fn read_all(
    dynamodb: &aws_sdk_dynamodb::Client,
    streams: &aws_sdk_dynamodbstreams::Client,
    table: &str,
    wanted: usize,
) -> Result<Vec<Record>, Box<dyn std::error::Error>> {
    let described = dynamodb.describe_table().table_name(table).send().await?;
    let arn = described.table().and_then(|t| t.latest_stream_arn()).ok_or("the table has no stream")?;
    let stream = streams.describe_stream().stream_arn(arn).send().await?;
    let shards = stream.stream_description().map(|d| d.shards().to_vec()).unwrap_or_default();
    let mut records = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    for shard in shards {
        let Some(shard_id) = shard.shard_id() else { continue };
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(arn)
            .shard_id(shard_id)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await?
            .shard_iterator;
        // An open shard hands back an empty page and a next iterator once it is read
        // to its end: a few empty pages in a row, or the records wanted, end the read.
        let mut empty = 0;
        while let Some(current) = iterator.take() {
            let page = streams.get_records().shard_iterator(current).send().await?;
            if page.records().is_empty() {
                empty += 1;
            } else {
                empty = 0;
            }
            records.extend(page.records().iter().cloned());
            if records.len() >= wanted || empty >= 3 || Instant::now() > deadline {
                break;
            }
            iterator = page.next_shard_iterator;
        }
    }
    Ok(records)
}
