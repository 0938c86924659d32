//! The size of an item as DynamoDB counts it against its 400 KB limit.

use crate::Item;
use aws_sdk_dynamodb::types::AttributeValue;

/// DynamoDB's largest item, in bytes.
pub const MAX_ITEM_SIZE: usize = 400 * 1024;

/// The item's size: attribute names plus values, counted as DynamoDB documents it
/// (UTF-8 bytes of strings, about one byte per two digits of numbers, raw binary
/// length, and a few bytes of overhead per list or map element).
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

fn number_size(n: &str) -> usize {
    let digits = n.bytes().filter(u8::is_ascii_digit).count();
    digits.div_ceil(2) + 1
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(v) => 3 + v.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        AttributeValue::M(m) => 3 + m.iter().map(|(k, e)| 1 + k.len() + value_size(e)).sum::<usize>(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_names_and_values() {
        let item: Item = [
            ("pk".to_owned(), AttributeValue::S("USER#1".into())),
            ("n".to_owned(), AttributeValue::N("12345".into())),
            ("l".to_owned(), AttributeValue::L(vec![AttributeValue::Bool(true)])),
        ]
        .into();
        assert_eq!(item_size(&item), (2 + 6) + (1 + 4) + (1 + 3 + 2));
    }
}
