//! DynamoDB's expression limits, checked before a request is sent: an expression of at
//! most 4 KB, with at most 300 operators or functions. DynamoDB Local does not enforce
//! every limit as the service does, so a request that passes there could fail on AWS:
//! the library counts for itself and refuses such a request with a typed error naming
//! the entity and the expression.

use super::Call;
use onetable_core::{Error, ErrorKind};

/// The longest expression DynamoDB takes, in bytes.
pub const MAX_EXPRESSION_BYTES: usize = 4096;

/// The most operators or functions DynamoDB takes in one expression (documented for
/// update expressions; applied to every expression, to be safe).
pub const MAX_EXPRESSION_OPERATORS: usize = 300;

/// Refuses the first expression over a limit.
pub(crate) fn check(call: &Call, table: &str, expressions: &[(&'static str, &str)]) -> Result<(), Error> {
    for (kind, text) in expressions {
        let operators = operators(text);
        if text.len() > MAX_EXPRESSION_BYTES || operators > MAX_EXPRESSION_OPERATORS {
            return Err(ErrorKind::ExpressionTooLarge {
                entity: call.entity,
                operation: call.operation,
                table: table.to_owned(),
                expression: kind,
                size: text.len(),
                operators,
            }
            .into());
        }
    }
    Ok(())
}

/// The operators and functions of an expression: comparators, `AND`, `OR`, `NOT`,
/// `BETWEEN`, `IN`, `+`, `-` and every function call. Placeholders (`#n`, `:v`) are
/// names, not operators.
pub fn operators(expression: &str) -> usize {
    let bytes = expression.as_bytes();
    let mut count = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'#' | b':' => {
                // A placeholder: skip its name.
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                continue;
            }
            b'=' | b'+' | b'-' => count += 1,
            b'<' | b'>' => {
                count += 1;
                // `<=`, `>=`, `<>`: one operator.
                if matches!(bytes.get(i + 1), Some(b'=' | b'>')) {
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let word = &expression[start..i];
                let mut next = i;
                while next < bytes.len() && bytes[next] == b' ' {
                    next += 1;
                }
                let keyword =
                    ["AND", "OR", "NOT", "BETWEEN", "IN"].iter().any(|k| word.eq_ignore_ascii_case(k));
                if keyword || bytes.get(next) == Some(&b'(') {
                    count += 1;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::operators;

    #[test]
    fn counts_operators_and_functions_not_names() {
        assert_eq!(operators("#a = :a"), 1);
        assert_eq!(operators("#a = :a AND attribute_not_exists(#b)"), 3);
        assert_eq!(operators("#a <> :a OR #b >= :b"), 3);
        assert_eq!(operators("SET #a = if_not_exists(#a, :z) + :one REMOVE #b"), 3);
        assert_eq!(operators("#v BETWEEN :lo AND :hi"), 2);
        assert_eq!(operators("#n0.#n1 = :v_and_or"), 1);
        assert_eq!(operators("NOT contains(#tags, :t)"), 2);
        assert_eq!(operators("#d IN (:a, :b)"), 1);
        // 150 comparisons joined by AND: 299.
        let wide: Vec<String> = (0..150).map(|i| format!("#a{i} = :v{i}")).collect();
        assert_eq!(operators(&wide.join(" AND ")), 299);
    }
}
