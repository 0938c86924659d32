//! Key templates cannot be tricked: a value containing a template delimiter, or an
//! empty one, is refused with a typed error naming entity, field and value, so no item
//! can take another's key; and a partial key of one entity never covers another's.

use onetable::{Entity, ErrorKind, Format, KeyProblem, SortCondition};

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "ORG#${org}#TEAM#${team}", sk = "USER#${id}")]
struct Member {
    org: String,
    team: String,
    id: String,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "ORG#${org}#TEAM#${team}", sk = "USER#PROFILE#${id}")]
struct Profile {
    org: String,
    team: String,
    id: String,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "ORDER#${year}:${number}")]
#[index(name = "gs1", pk = "CUSTOMER#${customer}", sk = "${year}-${number}")]
struct Order {
    year: u16,
    number: i64,
    customer: String,
}

fn member(org: &str, team: &str, id: &str) -> Member {
    Member { org: org.into(), team: team.into(), id: id.into() }
}

#[test]
fn a_value_with_the_delimiter_is_refused_naming_entity_field_and_value() {
    // Without the check, org "a#TEAM#b" + team "c" and org "a" + team "b#TEAM#c"
    // would both be ORG#a#TEAM#b#TEAM#c: one would overwrite the other.
    let err = member("a#TEAM#b", "c", "1").to_item(&Format::ONETABLE).unwrap_err();
    assert!(err.is_invalid_key());
    match err.kind() {
        ErrorKind::InvalidKey { entity, field, value, template, problem } => {
            assert_eq!((*entity, *field, value.as_str()), ("Member", "org", "a#TEAM#b"));
            assert_eq!(*template, "ORG#${org}#TEAM#${team}");
            assert_eq!(*problem, KeyProblem::ContainsDelimiter('#'));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "Member.org: the value \"a#TEAM#b\" cannot be used in the key template \"ORG#${org}#TEAM#${team}\": \
         it contains the template delimiter '#', which would make the key ambiguous"
    );
    assert!(member("a", "b#TEAM#c", "1").to_item(&Format::ONETABLE).unwrap_err().is_invalid_key());
    assert!(Member::key("a", "b", "x#y").into_attrs().unwrap_err().is_invalid_key());
    assert!(Member::partition("a#", "b").resolve().unwrap_err().is_invalid_key());
}

#[test]
fn every_delimiter_of_the_template_counts() {
    let order = |customer: &str, number| Order { year: 2024, number, customer: customer.into() };
    // ':' in the primary key, '-' in the index sort key: a negative number is refused
    // where '-' separates values, with a message saying so.
    let err = order("c", -5).to_item(&Format::ONETABLE).unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::InvalidKey { field: "number", problem: KeyProblem::ContainsDelimiter('-'), .. }
    ));
    let ok = order("c", 5).to_item(&Format::ONETABLE).unwrap();
    assert_eq!(ok["pk"], onetable::AttributeValue::S("ORDER#2024:5".into()));
    assert_eq!(ok["gs1sk"], onetable::AttributeValue::S("2024-5".into()));
    assert!(order("a:b", 5).to_item(&Format::ONETABLE).is_ok(), "':' is only a delimiter of the primary key");
    assert!(order("a#b", 5).to_item(&Format::ONETABLE).unwrap_err().is_invalid_key());
}

#[test]
fn empty_key_values_are_refused() {
    let err = member("", "t", "1").to_item(&Format::ONETABLE).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidKey { field: "org", problem: KeyProblem::Empty, .. }));
    assert!(Member::key("o", "t", "").into_attrs().unwrap_err().is_invalid_key());
    // Other characters, including every other punctuation, are fine.
    assert!(member("o:-_.|/ é", "t", "1").to_item(&Format::ONETABLE).is_ok());
}

#[test]
fn a_partial_key_of_one_entity_never_matches_another_that_extends_it() {
    // Member's sort keys are USER#<id>; Profile's are USER#PROFILE#<id>. The partial
    // key for Member is the prefix USER#, which Profile's keys also start with.
    let (_, sort) = Member::partition("o", "t").resolve().unwrap();
    assert_eq!(sort, Some(SortCondition::Prefix("USER#".into())));
    let member_sk = &Member::SCHEMA.primary().sort.as_ref().unwrap().template;
    let profile_sk = &Profile::SCHEMA.primary().sort.as_ref().unwrap().template;
    let profile_item =
        Profile { org: "o".into(), team: "t".into(), id: "1".into() }.to_item(&Format::ONETABLE).unwrap();
    let onetable::AttributeValue::S(profile_key) = &profile_item["sk"] else { panic!() };
    assert!(profile_key.starts_with("USER#"), "the raw prefix alone would match");
    // But no Member can have that key: a Member id cannot contain '#'.
    assert!(!member_sk.matches(profile_key));
    assert!(Member::key("o", "t", "PROFILE#1").into_attrs().is_err());
    // And the two templates can never produce the same key.
    assert!(!member_sk.overlaps(profile_sk));
    assert!(member_sk.matches("USER#1"));
}
